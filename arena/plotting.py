"""The book's training figure (E8.5): loss and wins against games, from a run's progress.csv."""
import csv
import os


def plot_run(run_dir, out=None):
    """Read ``run_dir/progress.csv`` (written by CSVLogger during ``arena train``) and write a PNG with
    two panels: TD loss and wins per epoch (and greedy evaluation wins if logged) against games."""
    path = os.path.join(run_dir, "progress.csv")
    if not os.path.exists(path):
        raise FileNotFoundError(f"plot: {path} not found; train first with `arena train ... --logdir {run_dir}`")
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise ValueError(f"plot: {path} has no rows")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def column(name):
        return [float(r[name]) if r.get(name) not in (None, "") else float("nan") for r in rows]

    games = column("games") if "games" in rows[0] else list(range(1, len(rows) + 1))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    if "losses/td_loss" in rows[0]:
        ax1.plot(games, column("losses/td_loss"))
    ax1.set_ylabel("Loss (TD)")
    ax1.set_title(f"Training: {os.path.basename(os.path.normpath(run_dir))}")
    if "charts/win_rate" in rows[0]:
        ax2.plot(games, [100 * v for v in column("charts/win_rate")], label="wins % (training, with exploration)")
    if "eval/wins" in rows[0]:
        ax2.plot(games, column("eval/wins"), marker="o", label="wins / 100 (greedy evaluation)")
    if "charts/win_rate" not in rows[0] and "charts/episodic_return" in rows[0]:  # games without wins
        ax2.plot(games, column("charts/episodic_return"), label="episodic return")
    ax2.set_xlabel("games")
    ax2.set_ylabel("Wins")
    ax2.legend(loc="lower right")
    fig.tight_layout()
    out = out or os.path.join(run_dir, "training.png")
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, out)
    return out
