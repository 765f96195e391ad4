"""Figures for people: service charts, fan charts, sensitivity rankings, intervention frontiers."""

from ._plots import (
    plot_averted_over_time,
    plot_compare,
    plot_curves,
    plot_fan,
    plot_frontier,
    plot_heatmap,
    plot_ranking,
    plot_services,
    plot_waiting,
    save_figure,
)

__all__ = [
    "plot_averted_over_time",
    "plot_compare",
    "plot_curves",
    "plot_fan",
    "plot_frontier",
    "plot_heatmap",
    "plot_ranking",
    "plot_services",
    "plot_waiting",
    "save_figure",
]
