"""What one browser session owns, and the limits every session shares.

A session holds its own model (built-in, uploaded or edited), its results and a
temporary folder for uploads and downloads, removed when the session ends; two
browsers never see each other's models.  Built-in models are read once per process
and shared: every edit makes a new model (:meth:`SurgeModel.with_tables`), so a
shared model is never changed.
"""

from __future__ import annotations

import functools
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from simulator.core._model import Model
from simulator.core._problems import InputError
from simulator.files._loading import BUILTIN_MODELS, load_model
from simulator.surge._surge_model import SurgeModel

if TYPE_CHECKING:  # the analysis layer is imported when an ensemble is designed
    from simulator.analysis._uncertainty import Design, UncertaintyGroup

__all__ = [
    "MEMBER_CAP",
    "UPLOAD_LIMIT_BYTES",
    "SessionFiles",
    "builtin_model",
    "cap_members",
    "ensemble_design",
    "library_dir",
    "surge_now",
]

#: most members one ensemble or appraisal may run in the app.  Illustrative assumption: on a
#: 2-core machine a 2,000-member England ensemble takes about 10 s, long enough for a page that
#: is shared by one planner at a time; the command line has no such cap.
MEMBER_CAP = 2000

#: largest upload accepted (bytes).  Illustrative assumption: the largest built-in model file
#: (models/england.yaml) is 140 kB and the Strategy Unit's workbooks are under 1 MB, so 20 MB
#: leaves room for any real model while refusing files that would only load the server.
UPLOAD_LIMIT_BYTES = 20 * 1024 * 1024

#: the built-in models offered on the Model page, in the order shown
BUILTINS = tuple(BUILTIN_MODELS)


def library_dir() -> Path:
    """The intervention library shipped with Upstream (``scenarios/``).

    Returns
    -------
    pathlib.Path
        The folder holding ``interventions/``, ``packages/`` and the scenario files.
    """
    return Path(__file__).resolve().parents[2] / "scenarios"


@functools.lru_cache(maxsize=len(BUILTINS))
def builtin_model(name: str) -> Model:
    """A built-in model, read once per process (never changed: edits make new models).

    Parameters
    ----------
    name
        One of :data:`BUILTINS`.

    Returns
    -------
    Model
        The model.
    """
    return load_model(name)


def cap_members(requested: object) -> tuple[int, str | None]:
    """The number of members to run, and a message when the request was changed.

    Parameters
    ----------
    requested
        What the user asked for (anything the browser sent).

    Returns
    -------
    tuple of (int, str or None)
        Members (1 to :data:`MEMBER_CAP`) and why it differs from the request, if it does.
    """
    try:
        n = int(float(str(requested)))
    except ValueError:
        return 100, f"{requested!r} is not a whole number of members; ran 100"
    if n < 1:
        return 1, "an ensemble needs at least 1 member; ran 1"
    if n > MEMBER_CAP:
        return MEMBER_CAP, (
            f"{n:,} members asked for; the app runs at most {MEMBER_CAP:,} (ran {MEMBER_CAP:,}); "
            "use `upstream ensemble` on the command line for more"
        )
    return n, None


#: the evidence ranges of England (scenarios/england-evidence.yaml) apply to models with its groups
EVIDENCE_SCENARIO = "england-evidence.yaml"


@functools.lru_cache(maxsize=1)
def _evidence_groups() -> tuple[UncertaintyGroup, ...]:
    """The uncertainty groups of the England evidence scenario (read once per process)."""
    from simulator.files._scenarios import load_scenario

    return tuple(load_scenario(library_dir() / EVIDENCE_SCENARIO).groups)


def _generic_groups(model: SurgeModel) -> list[UncertaintyGroup]:
    """Each group's condition rates scaled together by triangular(0.8, 1, 1.25) (illustrative assumption)."""
    from simulator.analysis._distributions import distribution_from_dict
    from simulator.analysis._uncertainty import UncertaintyGroup

    dist = distribution_from_dict({"type": "triangular", "low": 0.8, "mode": 1.0, "high": 1.25})
    return [
        UncertaintyGroup(
            name=f"{g} rates",
            parameter="g2c_pcnt",
            distribution=dist,
            select={"group": (str(g),)},
            source="illustrative assumption: each group's condition rates within -20% / +25%",
        )
        for g in model.tables.groups["group"]
    ]


def ensemble_design(model: Model) -> tuple[Design, str]:
    """The uncertainty an ensemble of ``model`` draws, and where it comes from.

    England and its edits use the evidence ranges of ``scenarios/england-evidence.yaml``;
    other surge models vary each group's condition rates by an illustrative -20% / +25%;
    other models run identical members.

    Parameters
    ----------
    model
        The session's current model.

    Returns
    -------
    tuple of (Design, str)
        The design resolved on the model, and a sentence naming its source.
    """
    from simulator.analysis._uncertainty import Design

    if not isinstance(model, SurgeModel):
        return Design(model.spec, []), "no uncertainty ranges for this model kind: every member is the same"
    try:
        return Design(model.spec, _evidence_groups()), "evidence ranges of scenarios/england-evidence.yaml"
    except (ValueError, OSError, InputError):  # another model's groups, or the library is missing
        pass
    groups = _generic_groups(model)
    return Design(model.spec, groups), "illustrative assumption: each group's condition rates -20% / +25%"


@dataclass
class SessionFiles:
    """A session's temporary folder: uploads and downloads, removed when the session ends."""

    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="upstream-app-")))

    def path(self, name: str) -> Path:
        """A path inside the folder for a file called ``name`` (its folder part dropped).

        Parameters
        ----------
        name
            A file name (an uploaded file's name may carry a folder; it is ignored).

        Returns
        -------
        pathlib.Path
        """
        safe = Path(str(name).replace("\\", "/")).name or "file"
        return self.root / safe

    def cleanup(self) -> None:
        """Remove the folder and everything in it."""
        shutil.rmtree(self.root, ignore_errors=True)


class AppState:
    """One browser session's reactive state, shared by its pages.

    Attributes
    ----------
    files
        The session's temporary folder.
    model
        The current model (built-in, uploaded or edited).
    label
        Where the model came from, in words.
    message
        The last edit's outcome or refusal, shown on the Model page.
    ensemble, appraisal
        The last finished ensemble and intervention comparison (``None`` before).
    packages
        The packages of that comparison.
    """

    def __init__(self, model: Model, label: str):
        from shiny import reactive

        self.files = SessionFiles()
        self.model: reactive.Value[Model] = reactive.value(model)
        self.label: reactive.Value[str] = reactive.value(label)
        self.message: reactive.Value[str] = reactive.value("")
        self.ensemble: reactive.Value[object | None] = reactive.value(None)
        self.appraisal: reactive.Value[object | None] = reactive.value(None)
        self.loaded: reactive.Value[int] = reactive.value(0)  # counts models loaded (not edits)
        self.curves_changed: reactive.Value[int] = reactive.value(0)  # counts edits of the curves
        self.packages: list[object] = []  # the packages of the comparison running or shown
        # False until the session's first page went out (the app's server sets a flag that turns);
        # runs and figures wait for it
        self.served: reactive.Value[bool] = reactive.value(True)

    def set_model(self, model: Model, label: str) -> None:
        """Make ``model`` the session's model; earlier ensembles and comparisons no longer apply."""
        self.model.set(model)
        self.label.set(label)
        self.loaded.set(self.loaded.get() + 1)
        self.curves_changed.set(self.curves_changed.get() + 1)
        self.ensemble.set(None)
        self.appraisal.set(None)


def surge_now(st: AppState) -> SurgeModel | None:
    """The session's model if it is a surge model, read without taking a dependency on it."""
    from shiny import reactive

    with reactive.isolate():
        m = st.model()
    return m if isinstance(m, SurgeModel) else None
