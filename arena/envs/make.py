"""Make environments by name: 'catch' (Arena's catch game) or any Gymnasium id already registered.

Env ids and env options may come from files (agent checkpoints), so they are checked before anything
reaches Gymnasium: :func:`check_env_id` accepts Arena's own names and ids already in Gymnasium's
registry, never an id of the form ``module:Env-v0`` (for which ``gym.make`` would import ``module``,
running its code); :func:`check_env_kwargs` accepts only the options the environment's constructor
takes (the constructor then checks the values and their bounds, e.g. catch's ``frame_stack``).
"""
import difflib
import inspect

import gymnasium as gym
import numpy as np
from gymnasium.vector import AutoresetMode, SyncVectorEnv

from arena.envs.atari import is_atari, make_atari, register_ale
from arena.envs.minatar import ALIASES as MINATAR_ALIASES

ALIASES = {"catch": "arena/Catch-v0", **MINATAR_ALIASES}
_MAKE_OPTIONS = ("max_episode_steps", "disable_env_checker")  # gym.make's own keyword options
MAX_ENV_ID_LENGTH = 200
MAX_ENVS = 1024


def resolve_id(env_id):
    return ALIASES.get(str(env_id).lower(), env_id)


def _registry():
    import arena.envs  # noqa: F401  (registers arena/Catch-v0)
    from gymnasium.envs.registration import registry
    register_ale()  # ale-py's ids, when it is installed (once)
    return registry


def check_env_id(env_id, where=""):
    """The registered Gymnasium id for ``env_id`` ('catch', 'arena/Catch-v0', 'CartPole-v1', ...), or a
    ValueError. Never imports a module an id names: ids of the form ``module:Env-v0`` are refused, and
    only ids already in Gymnasium's registry (Arena's, Gymnasium's, ale-py's) are accepted. ``where`` (e.g. a file name) prefixes messages."""
    prefix = f"{where}: " if where else ""
    if not isinstance(env_id, str) or not env_id.strip():
        raise ValueError(f"{prefix}the game or environment id must be a non-empty string; got {env_id!r}")
    if len(env_id) > MAX_ENV_ID_LENGTH:
        raise ValueError(f"{prefix}the game or environment id is too long ({len(env_id)} characters)")
    if ":" in env_id:
        raise ValueError(f"{prefix}refusing environment id {env_id!r}: an id of the form 'module:Env-v0' makes "
                         f"Gymnasium import that module (running its code). Arena accepts only its own games "
                         f"({sorted(ALIASES)}) and ids already registered with Gymnasium: import the module "
                         f"that registers the environment yourself and pass the plain id")
    full_id = resolve_id(env_id)
    registry = _registry()
    if full_id not in registry:
        close = difflib.get_close_matches(full_id, list(registry), n=3)
        known = sorted(ALIASES) + ["CartPole-v1", "Acrobot-v1", "MountainCar-v0", "LunarLander-v3", "..."]
        hint = f"; did you mean {close}?" if close else ""
        if full_id.startswith("ALE/"):
            hint += "; Atari games need ale-py: pip install 'arena[atari]'"
        raise ValueError(f"{prefix}Unknown game or environment id {env_id!r} (not registered with Gymnasium"
                         f"{hint}). Try one of {known}, or any registered Gymnasium id")
    return full_id


def _constructor_parameters(full_id):
    """(names the env's constructor takes, whether it takes **kwargs), or None when it cannot be told."""
    spec = _registry()[full_id]
    entry = spec.entry_point
    try:
        if callable(entry):
            creator = entry
        else:  # a registered "package.module:Class" string: trusted, it was registered by installed code
            from gymnasium.envs.registration import load_env_creator
            creator = load_env_creator(entry)
        params = inspect.signature(creator).parameters.values()
    except Exception:  # noqa: BLE001 - a missing optional dependency: gym.make reports it
        return None
    names = {p.name for p in params if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) and p.name != "self"}
    takes_any = any(p.kind is p.VAR_KEYWORD for p in params)
    return names | set(spec.kwargs or {}), takes_any


def check_env_kwargs(env_id, env_kwargs, where=""):
    """Check ``env_kwargs`` against the environment's constructor: a dict of option names it takes
    (besides ``render_mode``, which Arena passes itself). Returns the registered id."""
    prefix = f"{where}: " if where else ""
    full_id = check_env_id(env_id, where)
    if env_kwargs is None:
        return full_id
    if not isinstance(env_kwargs, dict):
        raise ValueError(f"{prefix}env_kwargs must be a dict of environment options; got "
                         f"{type(env_kwargs).__name__}")
    bad = [k for k in env_kwargs if not isinstance(k, str) or not k.isidentifier()]
    if bad:
        raise ValueError(f"{prefix}env_kwargs keys must be option names; got {bad!r}")
    if "render_mode" in env_kwargs:
        raise ValueError(f"{prefix}env_kwargs must not set render_mode (Arena chooses it: training renders "
                         f"nothing, `arena watch` renders)")
    known = _constructor_parameters(full_id)
    if known is not None:
        names, takes_any = known
        unknown = sorted(set(env_kwargs) - names - set(_MAKE_OPTIONS))
        if unknown and not takes_any:
            raise ValueError(f"{prefix}environment {env_id!r} takes no option(s) {unknown}; it takes "
                             f"{sorted((names | set(_MAKE_OPTIONS)) - {'render_mode'})}")
    return full_id


def make_env(env_id, render_mode=None, training=False, **kwargs):
    """One environment: ``make_env('catch', obs_type='state')`` or ``make_env('CartPole-v1')``.
    Atari games come preprocessed for DQN (:mod:`arena.envs.atari`); ``training`` then also ends
    episodes at lost lives and clips rewards."""
    full_id = check_env_kwargs(env_id, kwargs)
    try:
        if is_atari(_registry()[full_id]):
            return make_atari(full_id, render_mode=render_mode, training=training, **kwargs)
        return gym.make(full_id, render_mode=render_mode, **kwargs)
    except gym.error.DependencyNotInstalled as e:
        raise ValueError(f"Environment {env_id!r} needs an optional dependency: {e}") from None
    except gym.error.Error as e:
        raise ValueError(f"Cannot make environment {env_id!r}: {e}") from None
    except TypeError as e:  # an option of the wrong type reached the constructor
        raise ValueError(f"Cannot make environment {env_id!r} with options {kwargs}: {e}") from None


def make_vec_env(env_id, n_envs=1, training=False, **kwargs):
    """``n_envs`` copies in a SyncVectorEnv that resets finished episodes in the same step
    (the final observation is in ``info['final_obs']``); ``training`` as for :func:`make_env`."""
    if isinstance(n_envs, bool) or not isinstance(n_envs, (int, np.integer)) or not 1 <= n_envs <= MAX_ENVS:
        raise ValueError(f"n_envs must be an int in 1..{MAX_ENVS}; got {n_envs!r}")
    n_envs = int(n_envs)
    make_env(env_id, **kwargs).close()  # fail early with a clear error for a bad id
    return SyncVectorEnv([lambda: make_env(env_id, training=training, **kwargs) for _ in range(n_envs)],
                         autoreset_mode=AutoresetMode.SAME_STEP)
