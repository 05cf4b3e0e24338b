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
        reader = csv.DictReader(f)
        rows = list(reader)
        columns = list(reader.fieldnames or [])
    if not rows:
        raise ValueError(f"plot: {path} has no rows")
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def column(name):
        return [_number(r.get(name)) for r in rows]

    def draw(ax, x, y, **kwargs):
        """A column that is missing in some epochs (NA) is drawn where it has values; one point alone
        gets a marker."""
        pairs = [(a, b) for a, b in zip(x, y) if a == a and b == b]  # NaN != NaN: missing cells
        if pairs:
            if len(pairs) < 3:
                kwargs.setdefault("marker", "o")
            ax.plot([a for a, _ in pairs], [b for _, b in pairs], **kwargs)
        return len(pairs)

    games = column("games") if "games" in columns else list(range(1, len(rows) + 1))
    if all(g != g for g in games):  # no games logged (NA everywhere): epochs instead
        games = list(range(1, len(rows) + 1))
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True)
    if "losses/td_loss" in columns:
        draw(ax1, games, column("losses/td_loss"))
    ax1.set_ylabel("Loss (TD)")
    ax1.set_title(f"Training: {os.path.basename(os.path.normpath(run_dir))}")
    if "charts/win_rate" in columns:
        draw(ax2, games, [100 * v for v in column("charts/win_rate")], label="wins % (training, with exploration)")
    if "eval/wins" in columns:
        draw(ax2, games, column("eval/wins"), marker="o", label="wins / 100 (greedy evaluation)")
    if "charts/win_rate" not in columns and "charts/episodic_return" in columns:  # games without wins
        draw(ax2, games, column("charts/episodic_return"), label="episodic return")
    ax2.set_xlabel("games")
    ax2.set_ylabel("Wins")
    if ax2.get_legend_handles_labels()[0]:
        ax2.legend(loc="lower right")
    fig.tight_layout()
    out = out or os.path.join(run_dir, "training.png")
    tmp = out + ".tmp.png"
    fig.savefig(tmp, dpi=100)
    plt.close(fig)
    os.replace(tmp, out)
    return out


def _number(cell):
    """A CSV cell as a float; ``NA``, empty, missing and non-numeric cells are NaN (missing)."""
    if cell is None:
        return float("nan")
    text = str(cell).strip()
    if text in ("", "NA", "NaN", "nan", "None"):
        return float("nan")
    try:
        return float(text)
    except ValueError:
        return float("nan")
