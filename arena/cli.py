"""The ``arena`` command: train, evaluate, watch and play games; plot training runs.

    arena train catch [--preset default|book|state] [--games N] [--envs K] [--logdir runs/catch] [--resume]
    arena train CartPole-v1 [--timesteps N]
    arena evaluate catch --model PATH [--games 100]
    arena watch catch --model PATH [--record catch.gif|catch.mp4]
    arena play catch
    arena plot runs/catch
"""
import argparse
import os
import sys
import time


def _env_name(game):
    from arena.envs.make import resolve_id
    return resolve_id(game)


def _is_catch(game):
    return _env_name(game) == "arena/Catch-v0"


def cmd_train(args):
    from arena.agents import DQN
    from arena.agents.presets import GYM_PRESETS, catch_preset
    from arena.callbacks import CSVLogger, ModelCheckpoint, TensorBoard

    game = args.game
    if _is_catch(game):
        preset = catch_preset(args.preset)
    else:
        preset = GYM_PRESETS.get(game, {"options": {}, "timesteps": 100_000, "steps_per_epoch": 10_000,
                                        "eval_games": 10})
    logdir = args.logdir or os.path.join("runs", game.replace("/", "_"))
    out = args.out or os.path.join(logdir, "agent.h5")
    options = dict(preset["options"])
    if args.envs:
        options["n_envs"] = args.envs
    if args.seed is not None:
        options["seed"] = args.seed
    os.makedirs(logdir, exist_ok=True)
    if args.resume and os.path.exists(out):
        agent = DQN.load(out)
        print(f"Resuming from {out}: {agent.games} games, {agent.global_step} steps played", file=sys.stderr)
    else:
        if args.resume:
            print(f"No checkpoint at {out}; starting a new run", file=sys.stderr)
        agent = DQN(game, q_network=preset.get("network"), env_kwargs=preset.get("env_kwargs", {}), **options)
    callbacks = [TensorBoard(logdir), CSVLogger(os.path.join(logdir, "progress.csv"), append=bool(args.resume)),
                 ModelCheckpoint(out)]
    eval_games = args.eval_games if args.eval_games is not None else preset.get("eval_games", 0)
    if eval_games:  # also keep the best model by greedy evaluation (Stable-Baselines3's EvalCallback)
        best = os.path.splitext(out)[0] + "-best.h5"
        callbacks.append(ModelCheckpoint(best, monitor="eval/mean_return", save_best_only=True))
    start = time.time()
    if "games" in preset or args.games:
        games = args.games or preset["games"]
        agent.learn(total_games=games, games_per_epoch=args.games_per_epoch or preset.get("games_per_epoch", 100),
                    callbacks=callbacks, verbose=args.verbose, eval_games=eval_games)
    else:
        steps = args.timesteps or preset["timesteps"]
        agent.learn(total_timesteps=steps, steps_per_epoch=preset.get("steps_per_epoch", 10_000),
                    callbacks=callbacks, verbose=args.verbose, eval_games=eval_games)
    agent.save(out)
    print(f"Trained {agent.games} games ({agent.global_step} steps) in {time.time() - start:.0f} s; "
          f"checkpoint: {out}; logs: tensorboard --logdir {os.path.dirname(logdir) or logdir}")
    return 0


def _load_for_env(path, game):
    """The Q-network in ``path`` and the env options it was trained with."""
    from arena.agents.checkpoint import read_agent_info
    from arena.nn import load_model
    from arena.agents.networks import custom_objects
    if not os.path.exists(path):
        raise FileNotFoundError(f"model file {path!r} does not exist")
    model = load_model(path, custom_objects=custom_objects(), compile=False)
    info = read_agent_info(path) or {}
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
    model, env_kwargs = _load_for_env(args.model, args.game)
    if args.record:
        from arena.recording import record_frames
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
        raise SystemExit(f"arena play: only catch is playable by a person; got {args.game!r}")
    from arena.games.catch import play
    play(balls=args.balls)
    return 0


def cmd_plot(args):
    from arena.plotting import plot_run
    out = plot_run(args.run_dir, args.out)
    print(f"wrote {out}")
    return 0


def build_parser():
    p = argparse.ArgumentParser(prog="arena", description="Train, evaluate, watch and play games with Arena.")
    sub = p.add_subparsers(dest="command", required=True)

    t = sub.add_parser("train", help="train a DQN agent headless")
    t.add_argument("game", help="'catch' or a Gymnasium id such as CartPole-v1")
    t.add_argument("--preset", default="default", help="catch preset: default, book or state")
    t.add_argument("--games", type=int, help="training games (catch)")
    t.add_argument("--timesteps", type=int, help="training env steps (Gymnasium games)")
    t.add_argument("--envs", type=int, help="environments played at once")
    t.add_argument("--games-per-epoch", type=int, help="games per logged epoch")
    t.add_argument("--eval-games", type=int, help="greedy evaluation games after every epoch; with it, the "
                   "best model is also kept as <out>-best.h5 (default: the preset's)")
    t.add_argument("--logdir", help="TensorBoard/CSV log directory (default runs/<game>)")
    t.add_argument("--out", help="checkpoint path (default <logdir>/agent.h5)")
    t.add_argument("--resume", action="store_true", help="continue from the checkpoint at --out")
    t.add_argument("--seed", type=int)
    t.add_argument("--verbose", type=int, default=1, choices=[0, 1, 2])
    t.set_defaults(func=cmd_train)

    e = sub.add_parser("evaluate", help="play greedy games and count wins (the book's test)")
    e.add_argument("game")
    e.add_argument("--model", required=True)
    e.add_argument("--games", type=int, default=100)
    e.add_argument("--seed", type=int, default=10_000)
    e.set_defaults(func=cmd_evaluate)

    w = sub.add_parser("watch", help="watch an agent play in a window, or record a GIF/MP4 headless")
    w.add_argument("game")
    w.add_argument("--model", required=True)
    w.add_argument("--record", help="write a recording (.gif or .mp4) instead of opening a window")
    w.add_argument("--games", type=int, default=3)
    w.add_argument("--fps", type=int, default=30)
    w.add_argument("--seed", type=int, default=10_000)
    w.set_defaults(func=cmd_watch)

    pl = sub.add_parser("play", help="play catch yourself with the arrow keys")
    pl.add_argument("game")
    pl.add_argument("--balls", type=int, default=100)
    pl.set_defaults(func=cmd_play)

    pt = sub.add_parser("plot", help="plot loss and wins against games from a run's progress.csv")
    pt.add_argument("run_dir")
    pt.add_argument("--out", help="PNG path (default <run_dir>/training.png)")
    pt.set_defaults(func=cmd_plot)
    return p


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, FileNotFoundError, OSError) as e:
        print(f"arena {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
