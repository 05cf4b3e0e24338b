"""The ``arena`` command: train, evaluate, watch and play games; plot training runs.

    arena train catch [--preset default|book|state] [--games N] [--envs K] [--logdir runs/catch] [--resume]
    arena train catch --seeds 16 | --lr-sweep 1e-3,3e-3 [--backend jax|gymnasium]
    arena train CartPole-v1 [--timesteps N]
    arena evaluate catch --model PATH [--games 100]
    arena watch catch --model PATH [--record catch.gif|catch.mp4]
    arena play catch
    arena plot runs/catch

Every mistake is reported as one line, ``arena: error: <what was wrong>``, with exit code 1 (2 for
a malformed command line); ``arena --debug ...`` shows the traceback instead.

One run per log directory: ``arena train`` holds a lock file in its ``--logdir`` while it runs
(a lock left by a process that is gone is taken over), and refuses a log directory that already
holds a run unless ``--resume`` is given.
"""
import argparse
import json
import os
import socket
import sys
import tempfile
import time

SEED_MAX = 2**32 - 1
LOCK_NAME = ".arena-train.lock"


class UsageError(ValueError):
    """A command line that cannot be carried out (conflicting or unusable options)."""


# ---- the run lock ------------------------------------------------------------------------------
class RunLock:
    """An exclusive-create lock file in a log directory, holding the owner's pid and host.

    ``acquire()`` creates the file with ``O_CREAT | O_EXCL``; if it exists and names a process on
    this host that is gone, the stale lock is taken over; otherwise a :class:`UsageError` says which
    run holds the directory. ``release()`` removes the file if it is still this lock's."""

    def __init__(self, directory):
        self.path = os.path.join(directory, LOCK_NAME)
        self.owner = {"pid": os.getpid(), "host": socket.gethostname(), "started": time.time(),
                      "argv": sys.argv[:8]}
        self.held = False

    def acquire(self):
        for _ in range(5):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                holder, text = self._read_holder()
                if holder is not None and _alive(holder):
                    raise UsageError(
                        f"another `arena train` (pid {holder.get('pid')} on {holder.get('host')}) is running in "
                        f"this log directory (lock file {self.path}); wait for it to finish or use another "
                        f"--logdir (if that run is gone, remove the lock file)") from None
                self._remove_if_unchanged(text)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w") as f:
                json.dump(self.owner, f)
                f.flush()
                os.fsync(f.fileno())
            self.held = True
            return self
        raise UsageError(f"cannot take the lock {self.path}: other processes keep taking it")

    def release(self):
        if not self.held:
            return
        self.held = False
        holder, text = self._read_holder(wait=0)
        if holder == json.loads(json.dumps(self.owner)):
            try:
                os.remove(self.path)
            except FileNotFoundError:
                pass

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()

    def _read_holder(self, wait=1.0):
        """(the holder's dict or None when unreadable, the raw text). An empty file may be a lock
        being written: it is read again for up to ``wait`` seconds."""
        deadline = time.monotonic() + wait
        while True:
            try:
                with open(self.path) as f:
                    text = f.read(10_000)
            except FileNotFoundError:
                return None, None
            try:
                holder = json.loads(text)
                if isinstance(holder, dict) and isinstance(holder.get("pid"), int):
                    return holder, text
            except ValueError:
                pass
            if time.monotonic() >= deadline:
                return None, text
            time.sleep(0.05)

    def _remove_if_unchanged(self, text):
        try:
            with open(self.path) as f:
                if f.read(10_000) != text:
                    return  # someone else took it over meanwhile: try again
            os.remove(self.path)
        except FileNotFoundError:
            pass


def _alive(holder):
    """Whether the lock's process may still run (a process on another host is assumed to)."""
    if holder.get("host") != socket.gethostname():
        return True
    pid = holder["pid"]
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed child not yet reaped (a zombie) is gone too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[-1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


# ---- helpers -----------------------------------------------------------------------------------
def _env_name(game):
    from arena.envs.make import resolve_id
    return resolve_id(game)


def _is_catch(game):
    return _env_name(game) == "arena/Catch-v0"


def _check_writable(directory, what):
    """Fail now, not after an epoch of training, when ``directory`` cannot take files."""
    directory = directory or "."
    if os.path.exists(directory) and not os.path.isdir(directory):
        raise OSError(f"{what}: {directory!r} is a file, not a directory")
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".arena-write-test-", dir=directory)
        os.close(fd)
        os.remove(tmp)
    except OSError as e:
        raise OSError(f"{what}: cannot write files in {directory!r} ({e.strerror or e})") from None


def _sweep_temps(paths):
    """Remove temporary files that killed writes of ``paths`` left behind (under the run lock, so no
    other writer can be mid-write)."""
    from arena.io import sweep_stale_temps
    for p in paths:
        for removed in sweep_stale_temps(p):
            print(f"Removed {removed}, left by an interrupted write", file=sys.stderr)


def _matching_preset(env_kwargs, backend="gymnasium"):
    from arena.agents.presets import COMPILED_PRESETS, PRESETS
    for name, preset in (COMPILED_PRESETS if backend == "jax" else PRESETS).items():
        if preset["env_kwargs"] == env_kwargs:
            return name
    return None


def _resume_conflicts(args, info, catch, backend):
    """What on the command line contradicts the checkpoint (``--preset``, ``--envs``, ``--seed``,
    ``--seeds``): these fix the observations, the replay buffer's layout and the random streams of
    the run, so they are errors rather than silently ignored (the same values are accepted)."""
    from arena.agents.presets import catch_preset
    cfg = info.get("config") if isinstance(info.get("config"), dict) else {}
    conflicts = []
    if args.seeds is not None and info.get("seeds", 1) != args.seeds:
        conflicts.append(f"--seeds {args.seeds} (the checkpoint trains {info.get('seeds', 1)} seeds)")
    if args.lr_sweep is not None and info.get("learning_rates") != args.lr_sweep:
        conflicts.append(f"--lr-sweep (the checkpoint's learning rates are {info.get('learning_rates')})")
    if args.envs is not None and cfg.get("n_envs", 1) != args.envs:
        conflicts.append(f"--envs {args.envs} (the checkpoint plays {cfg.get('n_envs', 1)} envs)")
    if args.seed is not None and cfg.get("seed", 0) != args.seed:
        conflicts.append(f"--seed {args.seed} (the checkpoint's seed is {cfg.get('seed', 0)})")
    if catch and args.preset is not None:
        preset = catch_preset(args.preset, backend)
        file_preset = _matching_preset(info.get("env_kwargs"), backend)
        if preset["env_kwargs"] != info.get("env_kwargs"):
            was = f"the {file_preset!r} preset's" if file_preset else "other"
            conflicts.append(f"--preset {args.preset} (the checkpoint was trained on {was} observations "
                             f"{info.get('env_kwargs')})")
        else:
            from arena.nn import schedules
            stored = lambda v: schedules.serialize(v) if isinstance(v, schedules.LearningRateSchedule) else v  # noqa: E731
            differ = sorted(k for k, v in preset["options"].items()
                            if k not in ("n_envs", "seed", "learning_rate" if args.lr_sweep else "")
                            and k in cfg and cfg[k] != stored(v))
            if differ:
                conflicts.append(f"--preset {args.preset} (the checkpoint's settings differ in {differ})")
    return conflicts


def _budget(args, preset, catch):
    """('games', total, games_per_epoch) or ('steps', total, steps_per_epoch)."""
    from arena.agents.presets import CATCH_GAME_STEPS
    if args.games is not None and args.timesteps is not None:
        raise UsageError("give --games or --timesteps, not both")
    games_per_epoch = args.games_per_epoch if args.games_per_epoch is not None else preset.get("games_per_epoch", 100)
    if args.games is not None or (args.timesteps is None and "games" in preset):
        if args.steps_per_epoch is not None:
            raise UsageError("--steps-per-epoch applies to a budget in env steps (--timesteps); this run counts "
                             "games (--games-per-epoch)")
        return "games", args.games if args.games is not None else preset["games"], games_per_epoch
    if args.games_per_epoch is not None:
        raise UsageError("--games-per-epoch applies to a budget in games (--games); this run counts env steps "
                         "(--timesteps)")
    steps = args.timesteps if args.timesteps is not None else preset.get("timesteps", 100_000)
    steps_per_epoch = (args.steps_per_epoch or preset.get("steps_per_epoch")
                       or (games_per_epoch * CATCH_GAME_STEPS if catch else 10_000))
    return "steps", steps, steps_per_epoch


# ---- commands ----------------------------------------------------------------------------------
def cmd_train(args):
    from arena.envs.make import check_env_id

    game = args.game
    full_id = check_env_id(game)  # a known game, never a 'module:Env' id
    catch = full_id == "arena/Catch-v0"
    if not catch and args.preset is not None:
        raise UsageError(f"--preset applies to catch; {game!r} uses its own settings")
    logdir = args.logdir or os.path.join("runs", game.replace("/", "_"))
    out = args.out or os.path.join(logdir, "agent.h5")
    if os.path.isdir(out):
        raise UsageError(f"--out {out!r} is a directory; give a file path such as {os.path.join(out, 'agent.h5')}")
    best = os.path.splitext(out)[0] + "-best.h5"
    csv_path = os.path.join(logdir, "progress.csv")
    _check_writable(logdir, "--logdir")
    _check_writable(os.path.dirname(out), "--out")
    with RunLock(logdir):
        if not args.resume:
            existing = [p for p in (out, best, csv_path) if os.path.exists(p)]
            if existing:
                raise UsageError(f"{logdir!r} already holds a run ({', '.join(existing)}): pass --resume to "
                                 f"continue it, or choose another --logdir (and --out)")
        else:
            _sweep_temps([out, best])
        return _train(args, game, full_id, catch, logdir, out, best, csv_path)


_ALGORITHMS = {"DQN": "gymnasium", "CompiledDQN": "jax"}


def _choose_backend(args, full_id, info=None):
    """'jax' (the compiled agent) or 'gymnasium' (the host one): a checkpoint's own, else --backend,
    else 'jax' for games written in JAX (it is faster there and learns as well)."""
    from arena.envs.make_jax import JAX_ENVS
    if info is not None:
        backend = _ALGORITHMS.get(info.get("algorithm", "DQN"))
        if backend is None:
            raise UsageError(f"the checkpoint's algorithm {info.get('algorithm')!r} is not one `arena train` "
                             f"resumes ({sorted(_ALGORITHMS)})")
        if args.backend is not None and args.backend != backend:
            raise UsageError(f"--backend {args.backend}: the checkpoint was trained with --backend {backend}")
    else:
        backend = args.backend or ("jax" if full_id in JAX_ENVS else "gymnasium")
    if backend == "jax" and full_id not in JAX_ENVS:
        raise UsageError(f"--backend jax: {args.game!r} has no JAX version (JAX games: {sorted(JAX_ENVS)}); use "
                         f"--backend gymnasium")
    if backend == "gymnasium" and (args.seeds is not None or args.lr_sweep is not None):
        raise UsageError("--seeds and --lr-sweep run many agents in one compiled program: they need --backend jax")
    return backend


def _train(args, game, full_id, catch, logdir, out, best, csv_path):
    """The run itself, under the log directory's lock."""
    from arena.agents import DQN, CompiledDQN
    from arena.agents.presets import catch_preset, gym_preset
    from arena.agents.checkpoint import read_agent_info
    from arena.callbacks import CSVLogger, ModelCheckpoint, TensorBoard
    from arena.envs.make import check_env_id

    generic = {"options": {}, "timesteps": 100_000, "steps_per_epoch": 10_000, "eval_games": 10}
    if args.resume and os.path.exists(out):
        info = read_agent_info(out)
        if info is None:
            raise UsageError(f"{out} is a model file, not an agent checkpoint: --resume continues a checkpoint "
                             f"written by `arena train`")
        file_env = info.get("env_id")
        if check_env_id(file_env, where=f"{out}: env_id") != full_id:
            raise UsageError(f"{out} is a checkpoint of {file_env!r}, not of {game!r}: resume it with "
                             f"`arena train {file_env} --resume`, or train {game} in another --logdir")
        backend = _choose_backend(args, full_id, info)
        conflicts = _resume_conflicts(args, info, catch, backend)
        if conflicts:
            raise UsageError(f"--resume: {'; '.join(conflicts)}: these are fixed by the checkpoint {out}; drop "
                             f"them, or start a new run in another --logdir")
        if catch:
            preset = catch_preset(args.preset or _matching_preset(info.get("env_kwargs"), backend) or "default",
                                  backend)
        else:
            preset = gym_preset(full_id, backend, generic)
        agent = (CompiledDQN if backend == "jax" else DQN).load(out)
        print(f"Resuming from {out}: {agent.games} games, {agent.global_step} steps played", file=sys.stderr)
    else:
        backend = _choose_backend(args, full_id)
        preset = catch_preset(args.preset or "default", backend) if catch else gym_preset(full_id, backend, generic)
        if args.resume:
            print(f"No checkpoint at {out}; starting a new run", file=sys.stderr)
        options = dict(preset["options"])
        if args.envs is not None:
            options["n_envs"] = args.envs
        if args.seed is not None:
            options["seed"] = args.seed
        if args.lr_sweep:  # each run its own constant rate (instead of the preset's rate or schedule)
            options["learning_rate"] = args.lr_sweep[0]
        if backend == "jax":
            agent = CompiledDQN(game, q_network=preset.get("network"), env_kwargs=preset.get("env_kwargs", {}),
                                seeds=args.seeds or (len(args.lr_sweep) if args.lr_sweep else 1),
                                learning_rates=args.lr_sweep, **options)
        else:
            agent = DQN(game, q_network=preset.get("network"), env_kwargs=preset.get("env_kwargs", {}), **options)
    unit, total, per_epoch = _budget(args, preset, catch)
    eval_games = args.eval_games if args.eval_games is not None else preset.get("eval_games", 0)
    callbacks = [TensorBoard(logdir), CSVLogger(csv_path, append=bool(args.resume))]
    if eval_games:  # also keep the best model by greedy evaluation (Stable-Baselines3's EvalCallback)
        # Before the checkpoint of the run: the checkpoint then holds the best score just updated
        # (agent.callback_state), and a resumed run never replaces the best model by a worse one.
        callbacks.append(ModelCheckpoint(best, monitor="eval/mean_return", save_best_only=True))
    callbacks.append(ModelCheckpoint(out))
    start = time.time()
    if unit == "games":
        agent.learn(total_games=total, games_per_epoch=per_epoch, callbacks=callbacks, verbose=args.verbose,
                    eval_games=eval_games)
    else:
        agent.learn(total_timesteps=total, steps_per_epoch=per_epoch, callbacks=callbacks, verbose=args.verbose,
                    eval_games=eval_games)
    if not os.path.exists(out):  # every epoch end saves it; this covers a run with nothing left to do
        agent.save(out)
    seconds = time.time() - start
    if backend == "jax" and agent.seeds > 1:
        _summarize_seeds(agent, catch)
    print(f"Trained {agent.games} games ({agent.global_step} steps) in {seconds:.1f} s; "
          f"checkpoint: {out}; logs: tensorboard --logdir {os.path.dirname(logdir) or logdir}")
    return 0


def _summarize_seeds(agent, catch, games=100):
    """Every seed's greedy result on ``games`` games, and (catch) how many seeds won >= 99 and >= 95."""
    result = agent.evaluate(games)
    rates = agent.learning_rates
    for i in range(agent.seeds):
        label = f"seed {agent.config.seed + i}" + (f" (learning rate {rates[i]:g})" if rates else "")
        score = f"{result['wins'][i]}/{games} wins" if catch else f"mean return {result['mean_return'][i]:.2f}"
        print(f"  {label}: {score}")
    if catch:
        wins = result["wins"]
        print(f"{agent.seeds} seeds: {int((wins >= 0.99 * games).sum())} won >= 99/100, {int((wins >= 0.95 * games).sum())}"
              f" >= 95/100 (mean {wins.mean():.1f}, min {wins.min()}, max {wins.max()}); the checkpoint holds seed "
              f"{agent.config.seed + agent.published_seed}'s network, the best of the last epoch")


def _load_for_env(path, game):
    """The Q-network in ``path`` and the env options it was trained with."""
    from arena.agents.checkpoint import read_agent_info
    from arena.agents.networks import custom_objects
    from arena.envs.make import check_env_id
    from arena.nn import load_model
    full_id = check_env_id(game)
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file {path!r} does not exist")
    model = load_model(path, custom_objects=custom_objects(), compile=False)
    info = read_agent_info(path) or {}
    if info.get("env_id") is not None and check_env_id(info["env_id"], where=f"{path}: env_id") != full_id:
        raise UsageError(f"{path} is an agent for {info['env_id']!r}, not for {game!r}")
    env_kwargs = info.get("env_kwargs")
    if env_kwargs is None and _is_catch(game):
        shape = tuple(model.inputs[0].shape[1:])
        env_kwargs = {"obs_type": "state"} if len(shape) == 1 else \
            {"obs_type": "pixels", "frame_size": shape[0], "frame_stack": shape[-1]}
    return model, env_kwargs or {}


def cmd_evaluate(args):
    from arena.agents.evaluation import evaluate_q_network
    model, env_kwargs = _load_for_env(args.model, args.game)
    result = evaluate_q_network(model, args.game, args.games, seed=args.seed, env_kwargs=env_kwargs)
    if _is_catch(args.game):
        print(f"wins: {result['wins']}/{result['games']}")
    print(f"mean return over {result['games']} games: {result['mean_return']:.2f} "
          f"(std {result['std_return']:.2f})")
    return 0


def cmd_watch(args):
    from arena.agents.evaluation import evaluate_q_network
    if args.record and os.path.splitext(args.record)[1].lower() not in (".gif", ".mp4"):
        raise UsageError(f"--record {args.record!r} must end in .gif or .mp4")
    model, env_kwargs = _load_for_env(args.model, args.game)
    if args.backend == "jax":
        if not args.record or not _is_catch(args.game):
            raise UsageError("--backend jax records catch games played by the JAX environment: give catch and "
                             "--record (a window shows the Gymnasium environment)")
        from arena.agents.evaluation import record_catch_jax
        from arena.envs.make_jax import make_jax_env
        from arena.recording import record_frames
        _check_writable(os.path.dirname(os.path.abspath(args.record)), "--record")
        frames, wins = record_catch_jax(model, make_jax_env(args.game, **env_kwargs), args.games, seed=args.seed)
        record_frames(frames, args.record, fps=args.fps)
        print(f"recorded {len(frames)} frames of {args.games} games of the JAX environment to {args.record} "
              f"({wins} wins)")
        return 0
    if args.record:
        from arena.recording import record_frames
        _check_writable(os.path.dirname(os.path.abspath(args.record)), "--record")
        frames = []
        result = evaluate_q_network(model, args.game, args.games, seed=args.seed, env_kwargs=env_kwargs,
                                    render_mode="rgb_array", on_frame=lambda env: frames.append(env.render()))
        record_frames(frames, args.record, fps=args.fps)
        print(f"recorded {len(frames)} frames of {result['games']} games to {args.record}"
              + (f" ({result['wins']} wins)" if _is_catch(args.game) else ""))
    else:
        result = evaluate_q_network(model, args.game, args.games, seed=args.seed, env_kwargs=env_kwargs,
                                    render_mode="human")
        print(f"mean return {result['mean_return']:.2f}")
    return 0


def cmd_play(args):
    if not _is_catch(args.game):
        raise UsageError(f"only catch is playable by a person; got {args.game!r}")
    from arena.games.catch import play
    play(balls=args.balls)
    return 0


def cmd_plot(args):
    from arena.plotting import plot_run
    out = plot_run(args.run_dir, args.out)
    print(f"wrote {out}")
    return 0


# ---- the command line --------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage block): ``arena train: error: ...``, exit code 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _int(low, high=None):
    """An argparse type: an integer in ``low..high``."""
    def parse(text):
        try:
            value = int(text, 10)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < low or (high is not None and value > high):
            span = f">= {low}" if high is None else f"in {low}..{high}"
            raise argparse.ArgumentTypeError(f"must be an integer {span}; got {value}")
        return value
    parse.__name__ = "integer"
    return parse


def _rates(text):
    """An argparse type: comma-separated positive learning rates."""
    try:
        rates = [float(r) for r in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers, got {text!r}") from None
    if not rates or len(rates) > 1024 or not all(0 < r < float("inf") for r in rates):
        raise argparse.ArgumentTypeError(f"expected 1 to 1024 positive learning rates, got {text!r}")
    return rates


def build_parser():
    from arena.envs.make import MAX_ENVS
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the full traceback of an error")
    p = _Parser(prog="arena", description="Train, evaluate, watch and play games with Arena.")
    p.add_argument("--debug", action="store_true", help="show the full traceback of an error")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train a DQN agent headless", parents=[common])
    t.add_argument("game", help="'catch' or a Gymnasium id such as CartPole-v1")
    t.add_argument("--preset", help="catch preset: default, book or state (default: default; on --resume, the "
                   "checkpoint's)")
    t.add_argument("--games", type=_int(1), help="training games")
    t.add_argument("--timesteps", type=_int(1), help="training env steps (Gymnasium games)")
    t.add_argument("--envs", type=_int(1, MAX_ENVS), help="environments played at once")
    t.add_argument("--games-per-epoch", type=_int(1), help="games per logged epoch")
    t.add_argument("--steps-per-epoch", type=_int(1), help="env steps per logged epoch (a budget in --timesteps)")
    t.add_argument("--eval-games", type=_int(0), help="greedy evaluation games after every epoch; with it, the "
                   "best model is also kept as <out>-best.h5 (default: the preset's)")
    t.add_argument("--logdir", help="TensorBoard/CSV log directory (default runs/<game>)")
    t.add_argument("--out", help="checkpoint path (default <logdir>/agent.h5)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")
    t.add_argument("--seed", type=_int(0, SEED_MAX))
    t.add_argument("--backend", choices=["jax", "gymnasium"], help="jax: the whole run compiled on the device "
                   "(games written in JAX: catch); gymnasium: Gymnasium environments stepped from Python "
                   "(default: jax where the game has a JAX version)")
    t.add_argument("--seeds", type=_int(1, 1024), help="train this many seeds at once, in one program (--backend "
                   "jax); the summary says how many reached 99/100")
    t.add_argument("--lr-sweep", type=_rates, help="comma-separated learning rates, one run each, trained at once "
                   "(--backend jax)")
    t.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="play greedy games and count wins (the book's test)", parents=[common])
    e.add_argument("game")
    e.add_argument("--model", required=True)
    e.add_argument("--games", type=_int(1, 10**6), default=100)
    e.add_argument("--seed", type=_int(0, SEED_MAX), default=10_000)
    e.set_defaults(func=cmd_evaluate)

    w = sub.add_parser("watch", help="watch an agent play in a window, or record a GIF/MP4 headless",
                       parents=[common])
    w.add_argument("game")
    w.add_argument("--model", required=True)
    w.add_argument("--record", help="write a recording (.gif or .mp4) instead of opening a window")
    w.add_argument("--games", type=_int(1, 10_000), default=3)
    w.add_argument("--fps", type=_int(1, 1000), default=30)
    w.add_argument("--seed", type=_int(0, SEED_MAX), default=10_000)
    w.add_argument("--backend", choices=["jax", "gymnasium"], default="gymnasium",
                   help="play the recorded games in the JAX environment (catch) or the Gymnasium one (default)")
    w.set_defaults(func=cmd_watch)

    pl = sub.add_parser("play", help="play catch yourself with the arrow keys", parents=[common])
    pl.add_argument("game")
    pl.add_argument("--balls", type=_int(1, 10**6), default=100)
    pl.set_defaults(func=cmd_play)

    pt = sub.add_parser("plot", help="plot loss and wins against games from a run's progress.csv", parents=[common])
    pt.add_argument("run_dir")
    pt.add_argument("--out", help="PNG path (default <run_dir>/training.png)")
    pt.set_defaults(func=cmd_plot)
    return p


_USER_ERRORS = (ValueError, TypeError, OSError, KeyError, IndexError, RecursionError, OverflowError,
                ZeroDivisionError, MemoryError, UnicodeError)


def error_message(e):
    """One line saying what went wrong."""
    if isinstance(e, RecursionError):
        text = f"the input is nested too deeply ({e})"
    elif isinstance(e, MemoryError):
        text = f"out of memory{': ' + str(e) if str(e) else ''}"
    elif isinstance(e, KeyError) and len(e.args) == 1 and isinstance(e.args[0], str) and " " in e.args[0]:
        text = e.args[0]  # a message, not a bare missing key (str() would quote it)
    elif isinstance(e, KeyError):
        text = f"missing entry {e.args[0]!r}" if e.args else "missing entry"
    elif isinstance(e, OSError) and e.strerror and e.filename is not None and str(e).startswith("[Errno"):
        text = f"{e.strerror}: {e.filename!r}"
    else:
        text = str(e) or type(e).__name__
    try:
        import gymnasium
        user = isinstance(e, _USER_ERRORS + (gymnasium.error.Error,))
    except ImportError:  # pragma: no cover
        user = isinstance(e, _USER_ERRORS)
    if not user:
        text = f"{type(e).__name__}: {text} (run with --debug for the traceback)"
    return " ".join(text.split())


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        if args.debug:
            raise
        print("arena: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # noqa: BLE001 - every error reaches the user as one line (--debug: the traceback)
        if args.debug:
            raise
        print(f"arena: error: {error_message(e)}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
