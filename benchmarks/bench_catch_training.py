"""Catch training: the curve of greedy wins/100 against training games, the wall-clock time of
training (greedy evaluations excluded) and the first evaluation reaching the target.

    python benchmarks/bench_catch_training.py --preset book      # target 87/100 within 1,000 games
    python benchmarks/bench_catch_training.py --preset default   # target 99/100 within 3 minutes
    python benchmarks/bench_catch_training.py --preset state     # target 99/100 within 30 seconds
"""
import argparse
import time

from arena.agents import DQN
from arena.agents.presets import catch_preset

TARGETS = {"book": 87, "default": 99, "state": 99}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="default", choices=sorted(TARGETS))
    p.add_argument("--games", type=int, help="training games (default: the preset's)")
    p.add_argument("--every", type=int, default=50, help="games between greedy evaluations")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--stop-at-target", action="store_true", help="stop once the target is reached")
    args = p.parse_args(argv)
    preset = catch_preset(args.preset)
    target = TARGETS[args.preset]
    agent = DQN("catch", q_network=preset["network"], env_kwargs=preset["env_kwargs"],
                **{**preset["options"], "seed": args.seed})
    from arena.callbacks import Callback

    class Curve(Callback):
        def on_train_begin(self, logs=None):
            self.start, self.eval_time, self.rows, self.reached = time.time(), 0.0, [], None

        def on_epoch_end(self, epoch, logs=None):
            self.eval_time += logs["eval/seconds"]
            train_seconds = time.time() - self.start - self.eval_time
            self.rows.append((logs["games"], logs["eval/wins"], train_seconds, logs.get("losses/td_loss", float("nan"))))
            print(f"games {logs['games']:5d}  wins/100 {logs['eval/wins']:3d}  train {train_seconds:6.1f} s  "
                  f"td_loss {logs.get('losses/td_loss', float('nan')):.4f}", flush=True)
            if self.reached is None and logs["eval/wins"] >= target:
                self.reached = (logs["games"], train_seconds)
                if args.stop_at_target:
                    self.model.stop_training = True

    curve = Curve()
    agent.learn(total_games=args.games or preset["games"], games_per_epoch=args.every, eval_games=100,
                callbacks=[curve], verbose=0)
    print(f"\npreset {args.preset}: target {target}/100")
    for games, wins, secs, _ in curve.rows:
        if games in (250, 500, 1000) or games == curve.rows[-1][0]:
            print(f"  wins/100 after {games} games: {wins}  ({secs:.0f} s of training)")
    if curve.reached:
        print(f"  reached {target}/100 after {curve.reached[0]} games and {curve.reached[1]:.1f} s of training")
    else:
        print(f"  did not reach {target}/100 in {curve.rows[-1][0]} games")


if __name__ == "__main__":
    main()
