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

import h5py

from arena.agents.networks import custom_objects
from arena.io import MAX_READ_BYTES, atomic_h5, has_child, open_h5, read_pytree, safe_child, write_pytree
from arena.nn.saving import load_model, save_model


def save_agent(agent, path):
    """Write ``agent``'s checkpoint to ``path`` (temporary file, then rename)."""
    agent.publish()
    info = {"algorithm": type(agent).__name__, **agent.get_config()}
    with atomic_h5(path) as f:
        save_model(agent.q_network, f, include_optimizer=False)
        f.attrs["arena_agent"] = json.dumps(info)
        write_pytree(f, agent.state_dict(), name="agent", compression="lzf")


def _parse_info(raw, path):
    """The ``arena_agent`` attribute as a dict, or a ValueError naming the file."""
    try:
        text = raw if isinstance(raw, str) else bytes(raw).decode()
        info = json.loads(text)
    except (ValueError, TypeError, RecursionError) as e:
        raise ValueError(f"{path}: the agent checkpoint's 'arena_agent' attribute is not valid JSON "
                         f"({type(e).__name__}: {e}); the file is damaged") from None
    if not isinstance(info, dict):
        raise ValueError(f"{path}: the agent checkpoint's 'arena_agent' attribute must be a JSON object; got "
                         f"{type(info).__name__}")
    return info


def read_agent_info(path):
    """The ``arena_agent`` JSON of a checkpoint (a dict), or None for a plain model file. Nothing in it
    is checked beyond being a JSON object: check ``env_id`` with :func:`arena.envs.make.check_env_id`
    before using it."""
    with open_h5(path, "model file") as f:
        raw = f.attrs.get("arena_agent")
    if raw is None:
        return None
    return _parse_info(raw, path)


def load_agent(cls, path, env=None, **overrides):
    """Rebuild an agent of class ``cls`` from ``path`` and restore its training state.

    Everything read is checked before it is used (a ``ValueError`` names the file and the field): the
    env id (Arena's games and ids registered with Gymnasium only, never ``module:Env``, which would
    make Gymnasium import ``module``), the env options against the env's constructor and their
    bounds, the option names and values against the agent's config class, then the training state
    (see the agent's ``load_state_dict``)."""
    from arena.envs.make import check_env_id
    with open_h5(path, "agent checkpoint") as f:
        raw = f.attrs.get("arena_agent")
        if raw is None or not has_child(f, "agent"):
            raise ValueError(f"{path} is a model file, not an agent checkpoint (no 'arena_agent' attribute or "
                             f"'agent' group): use it with `arena evaluate --model`, or train with --resume "
                             f"from a checkpoint written by `arena train`")
        info = _parse_info(raw, path)
        if info.get("algorithm", cls.__name__) != cls.__name__:
            raise ValueError(f"{path} is a {info['algorithm']!r} checkpoint, not {cls.__name__}")
        check_env_id(info.get("env_id"), where=f"{path}: env_id")  # before anything reaches Gymnasium
        model = load_model(f, custom_objects=custom_objects(), compile=False)
        try:
            agent = cls.from_config(info, q_network=model, env=env, **overrides)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{path}: {e}") from None
        fresh = agent.state_dict()
        # What the agent names as plain state (DQN: the replay buffer, the numpy RNG state and the
        # callbacks' state) is read as stored (its own checks follow in load_state_dict); everything
        # else takes the fresh agent's structure, dtypes and shapes.
        plain = getattr(agent, "plain_state", ("replay", "numpy_rng", "callback_state"))
        like = {k: v for k, v in fresh.items() if k not in plain}
        # Every object is reached through safe_child: hard links only (no soft or external links).
        group = safe_child(f, "agent", "the agent's training state")
        if not isinstance(group, h5py.Group):
            raise ValueError(f"{path}: 'agent' must be a group (damaged file)")
        state = {k: read_pytree(safe_child(group, k), like=v) if has_child(group, k) else None
                 for k, v in like.items()}
        if "target_state" in fresh and not has_child(group, "state"):
            # DQN checkpoints from before layer state was kept: the network's own
            state["state"], state["target_state"] = fresh["state"], fresh["target_state"]
        missing = [k for k, v in state.items() if v is None and fresh[k] is not None]
        missing += [k for k in plain if k != "callback_state" and not has_child(group, k)]
        if missing:
            raise ValueError(f"{path}: the agent checkpoint lacks {missing} (damaged file)")
        _check_stored_sizes(group, agent, path)
        for k in plain:
            if has_child(group, k):
                # The replay's shapes were just checked against this agent's buffer (whose size the
                # agent bounds), so its arrays may be larger than read_pytree's default cap.
                state[k] = read_pytree(safe_child(group, k), max_bytes=2**62 if k == "replay" else MAX_READ_BYTES)
        try:
            agent.load_state_dict(state)
        except (ValueError, TypeError) as e:
            raise ValueError(f"{path}: {e}") from None
    return agent


def _check_stored_sizes(group, agent, path):
    """What is read without a template (replay, RNG state, callbacks' state) is checked from the
    datasets' metadata first, so a small file cannot declare gigabytes."""
    if "replay" in getattr(agent, "plain_state", ("replay",)):
        _check_stored_replay(group, agent, path)
    _check_small_entries(group, path)


def _check_stored_replay(group, agent, path):
    replay = safe_child(group, "replay", "the replay buffer")
    if not isinstance(replay, h5py.Group):
        raise ValueError(f"{path}: agent/replay must be a group (damaged file)")
    shapes = {}
    for name in replay:
        node = safe_child(replay, name)
        if not isinstance(node, h5py.Dataset):
            raise ValueError(f"{path}: agent/replay/{name} must be a dataset (damaged file)")
        shapes[name] = node.shape
    check = getattr(agent.replay, "check_stored_shapes", None)
    try:
        if check is not None:
            check(shapes)
    except ValueError as e:
        raise ValueError(f"{path}: {e}") from None


def _check_small_entries(group, path):
    for k, limit in (("numpy_rng", 16), ("callback_state", 10_000)):
        if not has_child(group, k):
            continue
        sizes = []

        def visit(name, node, sizes=sizes):
            if isinstance(node, h5py.Dataset):
                sizes.append((name, node.size if node.shape is not None else 0))
        node = safe_child(group, k)
        if isinstance(node, h5py.Group):
            node.visititems(visit)
        big = [name for name, size in sizes if size > 100_000]
        if len(sizes) > limit or big:
            raise ValueError(f"{path}: agent/{k} holds more data than an agent stores there (damaged file)")
