"""Keras 2's ``keras.utils.vis_utils``: a model's graph in Graphviz's DOT language (``model_to_dot``) and
drawn to a file (``plot_model``): the DOT source always, the picture where Graphviz's ``dot`` program
is installed (Arena needs neither pydot nor graphviz to write DOT)."""
import os
import shutil
import subprocess
import warnings
from pathlib import Path


class Dot:
    """A DOT graph: ``to_string()`` gives its source; ``create(prog, format)`` renders it with Graphviz (the
    calls pydot's graphs answer, which Keras 2's ``model_to_dot`` returned)."""

    def __init__(self, source):
        self.source = source

    def to_string(self):
        return self.source

    def create(self, prog="dot", format="png"):
        """The graph rendered by Graphviz's ``prog`` (``dot``) in ``format`` (png, svg, pdf, ...), as bytes."""
        exe = shutil.which(prog)
        if exe is None:
            raise OSError(f"Graphviz's `{prog}` program is not installed (apt-get install graphviz); the DOT source "
                          f"is Dot.to_string()")
        done = subprocess.run([exe, f"-T{format}"], input=self.source.encode(), capture_output=True, check=False)
        if done.returncode:
            raise OSError(f"`{prog} -T{format}` failed: {done.stderr.decode(errors='replace').strip()}")
        return done.stdout


def _quote(text):
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _record(text):
    """Text for a record label: the record syntax's own characters escaped."""
    out = str(text)
    for ch in "{}|<>":
        out = out.replace(ch, "\\" + ch)
    return out


def _shapes(layer, which):
    """A layer's input or output shape for the label ('multiple' for a layer called several times)."""
    try:
        tensors = layer.output if which == "output" else layer.input
    except AttributeError:
        return "multiple"
    tensors = tensors if isinstance(tensors, list) else [tensors]
    shapes = [tuple(t.shape) for t in tensors]
    return str(shapes[0] if len(shapes) == 1 else shapes)


def _graph(model):
    """``([(layer, class name)], edges)``: every layer of ``model`` (its inputs included) and ``(from, to)``
    layer-name pairs, read from the model's config (a nested model is one box)."""
    config = model.get_config()
    layers = [(model.get_layer(spec["config"]["name"]), spec["class_name"]) for spec in config["layers"]]
    names = [layer.name for layer, _ in layers]
    if "input_layers" in config:  # functional: the edges are each layer's inbound nodes
        edges = [(ref[0], spec["config"]["name"]) for spec in config["layers"]
                 for node in spec.get("inbound_nodes", []) for ref in node]
    else:  # Sequential: a chain
        edges = list(zip(names, names[1:]))
    return layers, edges


def model_to_dot(model, show_shapes=False, show_layer_names=True, rankdir="TB", dpi=None):
    """The model's graph as a :class:`Dot`: one box per layer (``name: ClassName``, with the input and output
    shapes when ``show_shapes``), arrows along the data flow; ``rankdir`` 'TB' (top to bottom) or 'LR'."""
    if rankdir not in ("TB", "LR", "BT", "RL"):
        raise ValueError(f"model_to_dot: rankdir must be 'TB', 'LR', 'BT' or 'RL'; got {rankdir!r}")
    if not model.inputs:
        raise ValueError(f"model_to_dot: model '{model.name}' is not built yet (give its first layer input_shape, "
                         f"or call build)")
    layers, edges = _graph(model)
    lines = ["digraph G {", f"  rankdir={rankdir};", "  concentrate=true;"]
    if dpi is not None:
        lines.append(f"  dpi={int(dpi)};")
    lines.append("  node [shape=record];")
    for layer, kind in layers:
        label = _record(f"{layer.name}: {kind}" if show_layer_names else kind)
        if show_shapes:
            label = (f"{label}|{{input:|output:}}|{{{{{_record(_shapes(layer, 'input'))}}}|"
                     f"{{{_record(_shapes(layer, 'output'))}}}}}")
        lines.append(f"  {_quote(layer.name)} [label={_quote(label)}];")
    for a, b in dict.fromkeys(edges):  # a layer used twice on one input gets one arrow, as in Keras
        lines.append(f"  {_quote(a)} -> {_quote(b)};")
    lines.append("}")
    return Dot("\n".join(lines) + "\n")


def plot_model(model, to_file="model.png", show_shapes=False, show_layer_names=True, rankdir="TB", dpi=96):
    """Draw the model's graph: the DOT source is written to ``to_file`` with the suffix ``.dot`` (or to
    ``to_file`` itself when that ends in ``.dot``); where Graphviz's ``dot`` is installed, the picture is
    written to ``to_file`` in the format of its suffix (png, svg, pdf, ...), otherwise a warning says so.
    Returns the path of the picture, or of the DOT file when there is none."""
    dot = model_to_dot(model, show_shapes=show_shapes, show_layer_names=show_layer_names, rankdir=rankdir, dpi=dpi)
    to_file = Path(os.fspath(to_file))
    dot_file = to_file if to_file.suffix == ".dot" else to_file.with_suffix(".dot")
    dot_file.write_text(dot.to_string())
    if to_file == dot_file:
        return str(dot_file)
    if shutil.which("dot") is None:
        warnings.warn(f"plot_model: Graphviz's `dot` is not installed, so {to_file} was not drawn; the graph's DOT "
                      f"source is in {dot_file} (apt-get install graphviz to get pictures)", stacklevel=2)
        return str(dot_file)
    to_file.write_bytes(dot.create(format=to_file.suffix.lstrip(".") or "png"))
    return str(to_file)
