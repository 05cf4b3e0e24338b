"""Agent checkpoints: one HDF5 file, written atomically.

At the root sits the agent's network as an ordinary Arena model file, so ``load_model('agent.h5')``
(and ``arena evaluate --model agent.h5``) reads it. Beside it: the root attribute ``arena_agent``
(JSON: the algorithm's name and ``agent.get_config()``) and the group ``agent`` holding
``agent.state_dict()``: everything needed to resume exactly. Training resumed from a checkpoint
written at an epoch end plays and learns exactly as the uninterrupted run would.

This module knows no algorithm: an agent class provides ``q_network``, ``publish()``,
``get_config()``/``from_config()`` and ``state_dict()``/``load_state_dict()``.
"""
import json

from arena.agents.networks import custom_objects
from arena.io import atomic_h5, open_h5, read_pytree, write_pytree
from arena.nn.saving import load_model, save_model


def save_agent(agent, path):
    """Write ``agent``'s checkpoint to ``path`` (temporary file, then rename)."""
    agent.publish()
    info = {"algorithm": type(agent).__name__, **agent.get_config()}
    with atomic_h5(path) as f:
        save_model(agent.q_network, f, include_optimizer=False)
        f.attrs["arena_agent"] = json.dumps(info)
        write_pytree(f, agent.state_dict(), name="agent", compression="lzf")


def read_agent_info(path):
    """The ``arena_agent`` JSON of a checkpoint, or None for a plain model file."""
    with open_h5(path, "model file") as f:
        raw = f.attrs.get("arena_agent")
    if raw is None:
        return None
    return json.loads(raw if isinstance(raw, str) else raw.decode())


def load_agent(cls, path, env=None, **overrides):
    """Rebuild an agent of class ``cls`` from ``path`` and restore its training state."""
    with open_h5(path, "agent checkpoint") as f:
        raw = f.attrs.get("arena_agent")
        if raw is None or "agent" not in f:
            raise ValueError(f"{path} is a model file, not an agent checkpoint (no 'arena_agent' attribute or "
                             f"'agent' group): use it with `arena evaluate --model`, or train with --resume "
                             f"from a checkpoint written by `arena train`")
        info = json.loads(raw if isinstance(raw, str) else raw.decode())
        if info.get("algorithm", cls.__name__) != cls.__name__:
            raise ValueError(f"{path} is a {info['algorithm']} checkpoint, not {cls.__name__}")
        model = load_model(f, custom_objects=custom_objects(), compile=False)
        agent = cls.from_config(info, q_network=model, env=env, **overrides)
        fresh = agent.state_dict()
        # The replay buffer and the numpy RNG state are read as stored (their layout is checked by
        # their own load); everything else takes the fresh agent's structure, dtypes and shapes.
        like = {k: v for k, v in fresh.items() if k not in ("replay", "numpy_rng")}
        group = f["agent"]
        state = {k: read_pytree(group[k], like=v) if k in group else None for k, v in like.items()}
        if "state" not in group:  # checkpoints from before layer state was kept: the network's own
            state["state"], state["target_state"] = fresh["state"], fresh["target_state"]
        missing = [k for k, v in state.items() if v is None and fresh[k] is not None]
        if missing:
            raise ValueError(f"{path}: the agent checkpoint lacks {missing} (damaged file)")
        state["replay"] = read_pytree(group["replay"])
        state["numpy_rng"] = read_pytree(group["numpy_rng"])
        agent.load_state_dict(state)
    return agent
