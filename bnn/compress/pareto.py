"""Accuracy vs estimated LUTs: the Pareto front of the students and its plot (matplotlib, Agg, no display)."""
from __future__ import annotations

from pathlib import Path


def pareto_front(points: list[dict], cost: str = "lut", score: str = "accuracy") -> list[dict]:
    """Points not dominated by another (lower-or-equal cost and higher-or-equal score, one strictly), by cost."""
    front = []
    for p in points:
        dominated = any(q is not p and q[cost] <= p[cost] and q[score] >= p[score]
                        and (q[cost] < p[cost] or q[score] > p[score]) for q in points)
        if not dominated:
            front.append(p)
    return sorted(front, key=lambda p: p[cost])


def plot_pareto(points: list[dict], path: str | Path, title: str = "", cost: str = "lut",
                score: str = "accuracy", budget: float | None = None) -> Path:
    """Scatter of every student (coloured by method), the front as a line, and the LUT budget if given."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    methods = sorted({p.get("method", "?") for p in points})
    for m in methods:
        ps = [p for p in points if p.get("method", "?") == m]
        ax.scatter([p[cost] for p in ps], [p[score] for p in ps], label=m, s=30)
        for p in ps:
            ax.annotate(p.get("name", ""), (p[cost], p[score]), fontsize=6, xytext=(3, 3), textcoords="offset points")
    front = pareto_front(points, cost, score)
    ax.plot([p[cost] for p in front], [p[score] for p in front], "k--", lw=0.8, label="Pareto front")
    if budget:
        ax.axvline(budget, color="r", lw=0.8, ls=":", label="LUT budget")
    ax.set_xlabel(f"estimated {cost.upper()} (compiler cost model)")
    ax.set_ylabel(f"test {score}")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
