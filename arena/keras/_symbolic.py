"""Keras 2's graph-mode tensors on JAX: what ``K.function`` and ``K.gradients`` work on.

In Keras 2 a backend call on a symbolic tensor (a layer's output, ``K.placeholder()``, ``K.variable()``,
``K.learning_phase()``) added to a graph that ``K.function`` later ran. Here such a call records a
:class:`Symbolic` expression; :class:`Graph` turns expressions into one pure function of the fed inputs,
the variables' values and the model weights, compiled once with ``jax.jit``, and ``K.gradients`` is
``jax.grad`` of a part of it. Backend calls on arrays compute at once (inside a Lambda layer or a loss,
too).
"""
import jax
import jax.numpy as jnp

from arena.nn.layers.base import KerasTensor


class _Ops:
    """Python's operators on a symbolic value: each records an expression."""

    __array_ufunc__ = None  # numpy defers to the reflected operators: np_array * x records an expression

    def __add__(self, other):
        return call(jnp.add, self, other)

    def __radd__(self, other):
        return call(jnp.add, other, self)

    def __sub__(self, other):
        return call(jnp.subtract, self, other)

    def __rsub__(self, other):
        return call(jnp.subtract, other, self)

    def __mul__(self, other):
        return call(jnp.multiply, self, other)

    def __rmul__(self, other):
        return call(jnp.multiply, other, self)

    def __truediv__(self, other):
        return call(jnp.true_divide, self, other)

    def __rtruediv__(self, other):
        return call(jnp.true_divide, other, self)

    def __floordiv__(self, other):
        return call(jnp.floor_divide, self, other)

    def __mod__(self, other):
        return call(jnp.mod, self, other)

    def __pow__(self, other):
        return call(jnp.power, self, other)

    def __rpow__(self, other):
        return call(jnp.power, other, self)

    def __matmul__(self, other):
        return call(jnp.matmul, self, other)

    def __rmatmul__(self, other):
        return call(jnp.matmul, other, self)

    def __neg__(self):
        return call(jnp.negative, self)

    def __pos__(self):
        return self

    def __abs__(self):
        return call(jnp.abs, self)

    def __lt__(self, other):
        return call(jnp.less, self, other)

    def __le__(self, other):
        return call(jnp.less_equal, self, other)

    def __gt__(self, other):
        return call(jnp.greater, self, other)

    def __ge__(self, other):
        return call(jnp.greater_equal, self, other)

    def __getitem__(self, index):
        return call(_getitem, self, index)

    def __bool__(self):
        raise TypeError(f"{self!r} is symbolic: it has no truth value until K.function runs it (use K.switch for a "
                        f"choice inside the graph)")

    @property
    def ndim(self):
        return len(self.shape)


def _getitem(x, index):
    return x[index]


class Variable(_Ops):
    """``K.variable``: an array that functions read when they run (``K.get_value`` reads it, ``K.set_value``
    changes it)."""

    def __init__(self, value, dtype=None, name=None):
        self.value = jnp.asarray(value, dtype)
        self.name = name or "variable"

    @property
    def shape(self):
        return tuple(self.value.shape)

    @property
    def dtype(self):
        return self.value.dtype.name

    def __repr__(self):
        return f"<Variable '{self.name}' shape={self.shape} dtype={self.dtype}>"


class Placeholder(KerasTensor, _Ops):
    """``K.placeholder``: an Input's tensor (so it can start a model) that also takes Python's operators, as
    Keras 2's placeholders did (arena's KerasTensors of layer outputs do not: use backend functions)."""

    def __bool__(self):  # a tensor object is true, as any object (KerasTensor has no truth rule of its own)
        return True


class LearningPhase(_Ops):
    """``K.learning_phase()``: 1 while training, 0 in inference; a function takes it as an input (fed 0 or 1)
    or reads ``K.set_learning_phase``'s value."""

    shape = ()
    dtype = "int32"

    def __repr__(self):
        return "<learning phase>"


LEARNING_PHASE = LearningPhase()


class Symbolic(_Ops):
    """A value computed by ``fn(*args, **kwargs)`` from symbolic values (and constants), when a function runs."""

    def __init__(self, fn, args, kwargs=None):
        self.fn, self.args, self.kwargs = fn, tuple(args), dict(kwargs or {})

    @property
    def shape(self):
        return abstract(self).shape

    @property
    def dtype(self):
        return abstract(self).dtype.name

    def __repr__(self):
        name = getattr(self.fn, "__name__", "op")
        try:
            return f"<symbolic {name} shape={self.shape}>"
        except Exception:  # a repr must not fail while the expression is still wrong
            return f"<symbolic {name}>"


class Gradient(Symbolic):
    """``K.gradients``' result: the gradient of ``sum(loss)`` with respect to ``wrt`` (a fed input or a variable)."""

    def __init__(self, loss, wrt):
        super().__init__(None, ())
        self.loss, self.wrt = loss, wrt

    def __repr__(self):
        return f"<gradient with respect to {self.wrt!r}>"


SYMBOLIC = (Symbolic, Variable, KerasTensor, LearningPhase)


def _leaves(tree):
    if isinstance(tree, (list, tuple)):
        for t in tree:
            yield from _leaves(t)
    elif isinstance(tree, dict):
        for t in tree.values():
            yield from _leaves(t)
    else:
        yield tree


def _map(fn, tree):
    if isinstance(tree, (list, tuple)):
        return type(tree)(_map(fn, t) for t in tree)
    if isinstance(tree, dict):
        return {k: _map(fn, v) for k, v in tree.items()}
    return fn(tree)


def is_symbolic(tree):
    return any(isinstance(t, SYMBOLIC) for t in _leaves(tree))


def call(fn, *args, **kwargs):
    """``fn(*args, **kwargs)`` now on arrays, or recorded as an expression when an argument is symbolic."""
    if not is_symbolic((args, kwargs)):
        return fn(*args, **kwargs)
    leaves = list(_leaves((args, kwargs)))
    if any(isinstance(t, jax.core.Tracer) for t in leaves):
        raise TypeError(f"{getattr(fn, '__name__', 'a backend function')}: a symbolic value (a K.variable, "
                        f"K.learning_phase() or a model's tensor) inside compiled code (a Lambda layer or a loss), "
                        f"where it would be frozen when compiled; use arrays there (a changing value: a model "
                        f"input, or a callback that calls model.set_learning_rate)")
    return Symbolic(fn, args, kwargs)


def _nodes(outputs):
    """Every node below ``outputs`` (outputs first), each once."""
    seen, order, todo = set(), [], list(_leaves(outputs))
    while todo:
        node = todo.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        order.append(node)
        if isinstance(node, Gradient):
            todo.extend([node.loss, node.wrt])
        elif isinstance(node, Symbolic):
            todo.extend(_leaves((node.args, node.kwargs)))
    return order


class Graph:
    """The pure function from the values of ``inputs`` (KerasTensors of Input layers and placeholders), the
    variables' values and the model weights to the values of ``outputs``.

    The layer outputs among the nodes are computed by one functional Model from ``inputs`` to them (built
    here: a graph that needs an input not in ``inputs`` is an error naming it)."""

    def __init__(self, outputs, inputs, what):
        from arena.nn.model import Model
        self.outputs, self.inputs, self.what = outputs, list(inputs), what
        nodes = _nodes(outputs)
        fed = {id(t) for t in self.inputs}
        self.variables = [n for n in nodes if isinstance(n, Variable)]
        tensors = [n for n in nodes if isinstance(n, KerasTensor) and id(n) not in fed]
        known = fed | {id(v) for v in self.variables}
        for g in (n for n in nodes if isinstance(n, Gradient)):
            if id(g.wrt) not in known:
                raise NotImplementedError(
                    f"{what}: K.gradients with respect to {g.wrt!r}: Arena differentiates with respect to the "
                    f"function's inputs (Input or K.placeholder tensors it is given) and K.variable()s. For the "
                    f"gradient with respect to a model's weights write a custom train_step (jax.grad over "
                    f"model.params); for an input image use arena.nn.input_gradients")
        self.model = None
        if tensors:
            if not self.inputs:
                raise ValueError(f"{what}: {tensors[0]!r} is a symbolic tensor of a model: it needs input values; "
                                 f"use K.function([inputs], [outputs])([values])")
            try:
                self.model = Model(self.inputs, tensors, name="k_function")
            except (TypeError, ValueError) as e:
                raise ValueError(f"{what}: {e}") from None
        self._tensors = tensors

    def run(self, feed, variable_values, params, state, key, training):
        """The outputs' values (a pure function of its arguments; ``training`` is a Python bool)."""
        base = {id(t): v for t, v in zip(self.inputs, feed)}
        base.update({id(v): value for v, value in zip(self.variables, variable_values)})
        memo = {}
        return _map(lambda o: self._eval(o, base, memo, params, state, key, training), self.outputs)

    def _eval(self, node, base, memo, params, state, key, training):
        if not isinstance(node, SYMBOLIC):
            return node
        if id(node) in base:
            return base[id(node)]
        if id(node) in memo:
            return memo[id(node)]
        if isinstance(node, LearningPhase):
            value = jnp.asarray(int(training), jnp.int32)
        elif isinstance(node, KerasTensor):
            outs, _, _ = self.model.forward(params, state, [base[id(t)] for t in self.inputs], training=training,
                                            key=key)
            memo.update({id(t): o for t, o in zip(self._tensors, outs)})
            return memo[id(node)]
        elif isinstance(node, Gradient):
            def objective(v):
                return jnp.sum(self._eval(node.loss, {**base, id(node.wrt): v}, {}, params, state, key, training))
            value = jax.grad(objective)(base[id(node.wrt)])
        else:
            ev = lambda x: self._eval(x, base, memo, params, state, key, training)  # noqa: E731
            value = node.fn(*_map(ev, node.args), **_map(ev, node.kwargs))
        memo[id(node)] = value
        return value


def abstract(node):
    """``node``'s shape and dtype as a ShapeDtypeStruct, with None for the axes that depend on an unknown
    (None) axis of an input: found by tracing with two sizes for the unknown axes."""
    nodes = _nodes([node])
    leaves = [n for n in nodes if isinstance(n, (KerasTensor, Variable, LearningPhase))]
    graph = Graph.__new__(Graph)  # every leaf is fed, so no model is needed
    graph.inputs, graph.variables, graph.outputs, graph.model = leaves, [], [node], None
    results = []
    for size in (5, 7):
        specs = [jax.ShapeDtypeStruct(tuple(size if d is None else d for d in leaf.shape), jnp.dtype(leaf.dtype))
                 for leaf in leaves]
        try:
            results.append(jax.eval_shape(lambda feed: graph.run(feed, [], None, None, None, False)[0], specs))
        except (TypeError, ValueError) as e:  # e.g. an unknown batch size meeting a fixed one
            raise ValueError(f"cannot tell the shape of this expression before it runs ({e})") from None
    a, b = results
    return jax.ShapeDtypeStruct(tuple(x if x == y else None for x, y in zip(a.shape, b.shape)), a.dtype) \
        if len(a.shape) == len(b.shape) else jax.ShapeDtypeStruct((None,) * len(a.shape), a.dtype)


def run_now(x, what):
    """The value of ``x`` now: arrays as they are, a variable's value, an expression of variables and constants
    evaluated; one that needs a model's inputs is an error saying to use ``K.function``."""
    if not is_symbolic(x):
        return x
    graph = Graph([x], [], what)
    return graph.run([], [v.value for v in graph.variables], None, None, None, False)[0]
