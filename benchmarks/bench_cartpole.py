"""CartPole-v1 with DQN: train with the preset, keeping the best model by a 10-episode greedy
evaluation after every epoch (as Stable-Baselines3's EvalCallback does), then the mean return of
that model over 100 greedy evaluation episodes (solved: >= 475)."""
import argparse
import os
import tempfile
import time

from arena.agents import DQN, evaluate_q_network
from arena.agents.presets import GYM_PRESETS
from arena.callbacks import ModelCheckpoint
from arena.nn import load_model


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--timesteps", type=int)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    preset = GYM_PRESETS["CartPole-v1"]
    agent = DQN("CartPole-v1", q_network=preset["network"], **{**preset["options"], "seed": args.seed})
    best = os.path.join(tempfile.mkdtemp(), "best.h5")
    start = time.time()
    history = agent.learn(total_timesteps=args.timesteps or preset["timesteps"],
                          steps_per_epoch=preset["steps_per_epoch"], verbose=0, eval_games=10,
                          callbacks=[ModelCheckpoint(best, monitor="eval/mean_return", save_best_only=True)])
    seconds = time.time() - start
    returns = history.history.get("charts/episodic_return", [])
    print(f"10-episode evaluations per epoch: {[round(r) for r in history.history['eval/mean_return']]}")
    final = evaluate_q_network(agent.q_network, "CartPole-v1", 100, seed=10_000)
    print(f"last model, 100 greedy episodes: mean return {final['mean_return']:.1f}")
    result = evaluate_q_network(load_model(best, compile=False), "CartPole-v1", 100, seed=10_000)
    print(f"CartPole-v1: {agent.global_step} training steps in {seconds:.0f} s; training episodic return per "
          f"epoch: {[round(r) for r in returns]}")
    print(f"best model, greedy evaluation over 100 episodes: mean return {result['mean_return']:.1f} "
          f"(std {result['std_return']:.1f}); solved (>= 475): {result['mean_return'] >= 475}")


if __name__ == "__main__":
    main()
