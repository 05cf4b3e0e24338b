"""Agent checkpoints: one HDF5 file, written atomically.

At the root sits the Q-network as an ordinary Arena model file, so
``load_model('agent.h5')`` (and ``arena evaluate --model agent.h5``) reads it.
Beside it: the root attribute ``arena_agent`` (JSON: algorithm, env id and
options, DQN config) and the group ``agent`` with everything needed to resume
exactly: target network parameters, optimizer state, replay buffer, RNG states
and counters. Training resumed from a checkpoint written at an epoch end plays
and learns exactly as the uninterrupted run would.
"""
import dataclasses
import json

import jax
import numpy as np

from arena.io import atomic_h5, open_h5, read_pytree, write_pytree
from arena.nn.saving import load_model, save_model


def _custom_objects():
    from arena.agents.networks import dueling_combine
    return {"dueling_combine": dueling_combine}


def save_agent(agent, path):
    """Write ``agent``'s checkpoint to ``path`` (temporary file, then rename)."""
    agent.q_network.params = agent._state.params
    info = {"algorithm": type(agent).__name__, "env_id": agent.env_id, "env_kwargs": agent.env_kwargs,
            "config": dataclasses.asdict(agent.config)}
    state = agent._state
    with atomic_h5(path) as f:
        save_model(agent.q_network, f, include_optimizer=False)
        f.attrs["arena_agent"] = json.dumps(info)
        write_pytree(f, {
            "target_params": state.target_params,
            "opt_state": state.opt_state,
            "n_updates": int(state.n_updates),
            "replay": agent.replay.state_dict(),
            "numpy_rng": agent.rng.bit_generator.state,
            "key": np.asarray(agent.key),
            "global_step": int(agent.global_step),
            "games": int(agent.games),
            "epochs_done": int(agent.epochs_done),
        }, name="agent", compression="lzf")


def read_agent_info(path):
    """The ``arena_agent`` JSON of a checkpoint, or None for a plain model file."""
    with open_h5(path, "model file") as f:
        raw = f.attrs.get("arena_agent")
    if raw is None:
        return None
    return json.loads(raw if isinstance(raw, str) else raw.decode())


def load_agent(cls, path, env=None, **overrides):
    """Rebuild an agent from ``path`` and restore its training state."""
    from arena.agents.dqn import AgentState, DQNConfig
    with open_h5(path, "agent checkpoint") as f:
        raw = f.attrs.get("arena_agent")
        if raw is None or "agent" not in f:
            raise ValueError(f"{path} is a model file, not an agent checkpoint (no 'arena_agent' attribute or "
                             f"'agent' group): use it with `arena evaluate --model`, or train with --resume "
                             f"from a checkpoint written by `arena train`")
        info = json.loads(raw if isinstance(raw, str) else raw.decode())
        model = load_model(f, custom_objects=_custom_objects(), compile=False)
        config = DQNConfig(**{**info["config"], **overrides})
        agent = cls(env if env is not None else info["env_id"], q_network=model,
                    env_kwargs=info.get("env_kwargs"), config=config)
        group = f["agent"]
        fresh = agent._state
        agent._state = AgentState(
            params=model.params,
            target_params=read_pytree(group["target_params"], like=fresh.target_params),
            opt_state=read_pytree(group["opt_state"], like=fresh.opt_state),
            n_updates=jax.numpy.asarray(read_pytree(group["n_updates"]), jax.numpy.int32))
        agent.replay.load_state_dict(read_pytree(group["replay"]))
        agent.rng.bit_generator.state = read_pytree(group["numpy_rng"])
        agent.key = jax.numpy.asarray(read_pytree(group["key"]))
        agent.global_step = int(read_pytree(group["global_step"]))
        agent.games = int(read_pytree(group["games"]))
        agent.epochs_done = int(read_pytree(group["epochs_done"]))
    return agent
