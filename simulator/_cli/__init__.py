"""The ``upstream`` command line, command by command (the entry point is :mod:`simulator.cli`).

* :mod:`~simulator._cli._common`: errors, shared options, loading and running a model;
* :mod:`~simulator._cli._models`: ``run``, ``summary``, ``plot`` (one run of a model);
* :mod:`~simulator._cli._files`: ``validate``, ``export``, ``convert``, ``curves``;
* :mod:`~simulator._cli._sweeps`: ``sweep``, ``compare`` (scenario ensembles);
* :mod:`~simulator._cli._analyses`: ``sensitivity``, ``compare-interventions``.
"""
