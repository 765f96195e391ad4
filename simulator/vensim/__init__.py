"""Vensim and XMILE interoperability: import through PySD's parser, export to ``.mdl``.

* :func:`import_model` compiles a Vensim/XMILE file into an Upstream model
  that runs in the vectorised integrator (ensembles, sensitivity, interventions);
* :func:`export_mdl` writes any Upstream model as a Vensim model with subscripts
  and a sketch;
* :class:`~simulator.vensim._fallback.PySDModel` runs models Upstream cannot
  compile through PySD, member by member in worker processes (``--fallback pysd``).
"""

from simulator.vensim._importer import SUFFIXES, UnsupportedModel, import_model
from simulator.vensim._writer import ExportError, export_mdl, mdl_text

__all__ = ["SUFFIXES", "ExportError", "UnsupportedModel", "export_mdl", "import_model", "mdl_text"]
