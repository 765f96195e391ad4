"""Local models: a surge model scaled to a local authority or an ICB, with its own deprivation mix.

``upstream localise MODEL --area NAME_OR_CODE -o local.yaml`` writes a YAML surge model for
one area of England:

* a **local authority district** (2022 boundaries; any of England's 309, by code such as
  ``E08000002`` or name such as ``Bury``): its mid-2019 population and the people in each
  IMD 2019 decile, summed from its LSOAs (2011) through ONS's LSOA -> district lookup;
* an **integrated care board** (2023 boundaries; by code such as ``E54000057`` or name such
  as ``Greater Manchester``): its ONS mid-2022 population by age band and sex.

Every count of people in the model (group sizes, underlying and suppressed referrals,
capacity, initial waiting lists) is multiplied by the area's share of England's population
from the same source, and each scaled table's ``source`` note says so; an ICB's
children-and-young-people groups are scaled by its share of England's 0-17 year olds and its
older people's groups by its share of those 65 and over.  A stratified model's
``deprivation`` shares become the area's own decile (or quintile) mix.  The derivation is
written in the file under ``localised:`` (area, populations, factors, mix, sources).

The compact tables used (``models/data/population/``) are made from the shared data by
:func:`build_population_tables`; their sources and licences are in that folder's README.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "AreaError",
    "LocalArea",
    "build_population_tables",
    "find_area",
    "population_tables",
]

LA_TABLE = "la_population_imd2019.csv"
ICB_TABLE = "icb_population_mid2022.csv"
LA_SOURCE = (
    "ONS mid-2019 LSOA (2011) population estimates (OGL v3) and English Indices of Deprivation 2019 "
    "deciles (MHCLG, OGL v3), both via mySociety composite_uk_imd (CC-BY-4.0, attribute mySociety), "
    "summed to local authority districts (2022) by ONS's LSOA11 -> LSOA21 -> LAD22 lookup (OGL v3)"
)
ICB_SOURCE = (
    "ONS mid-2022 population estimates by single year of age and sex for ICBs (2023 boundaries), "
    "OGL v3 (Contains public sector information licensed under the Open Government Licence v3.0)"
)
DECILES = tuple(f"d{i}" for i in range(1, 11))
AGE_BANDS = {"age_0_17": (0, 17), "age_18_64": (18, 64), "age_65_plus": (65, 90)}


class AreaError(ValueError):
    """An area that is not one of England's local authorities or ICBs (with close matches)."""


@dataclass(frozen=True)
class LocalArea:
    """One area of England and the figures a local model is scaled by.

    Attributes
    ----------
    kind
        ``local authority`` or ``ICB``.
    code, name
        ONS code and name.
    population, england
        People in the area and in England, from the same source (``source``).
    deciles
        People in each IMD 2019 decile (1 = most deprived) for local authorities; ``None``
        for ICBs (the shipped data have no LSOA -> ICB lookup).
    ages
        ICBs: people by age band (``age_0_17``, ``age_18_64``, ``age_65_plus``) in the area
        and in England.
    """

    kind: str
    code: str
    name: str
    population: float
    england: float
    source: str
    deciles: tuple[float, ...] | None = None
    ages: dict[str, tuple[float, float]] = field(default_factory=dict)

    @property
    def factor(self) -> float:
        """The area's share of England's population."""
        return self.population / self.england

    def mix(self, categories: int) -> tuple[float, ...] | None:
        """Shares of the area's people by deprivation decile (10) or quintile (5), most deprived first.

        Parameters
        ----------
        categories
            10 (deciles) or 5 (quintiles: deciles 1-2, 3-4, ...).

        Returns
        -------
        tuple of float or None
            Shares summing to 1, or ``None`` where the area has no deprivation mix.
        """
        if self.deciles is None or categories not in (5, 10):
            return None
        d = np.asarray(self.deciles, dtype=float)
        if categories == 5:
            d = d.reshape(5, 2).sum(axis=1)
        return tuple(float(x) for x in d / d.sum())


def population_dir() -> Path:
    """The folder of the shipped population tables (``models/data/population``)."""
    try:
        p = Path(str(resources.files("simulator.models").joinpath("data/population")))
        if (p / LA_TABLE).exists():
            return p
    except (ModuleNotFoundError, TypeError):
        pass
    return Path(__file__).resolve().parents[2] / "models" / "data" / "population"


def build_population_tables(shared: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The compact tables, made from the shared population files.

    Parameters
    ----------
    shared
        The folder with ``lsoa_population_2019.csv``, ``lsoa_imd2019_england.csv``,
        ``lsoa11_lsoa21_lad22_lookup.csv`` and ``ons_pop_estimates_icb_mid2021_mid2022.xlsx``.

    Returns
    -------
    tuple of pandas.DataFrame
        Local authorities (``code, name, population, d1 .. d10``: people, mid-2019) and
        ICBs (``code, name, population`` and people per age band and sex, mid-2022).
    """
    shared = Path(shared)
    pop = pd.read_csv(shared / "lsoa_population_2019.csv", encoding="utf-8-sig", thousands=",")
    imd = pd.read_csv(shared / "lsoa_imd2019_england.csv", usecols=["nation", "lsoa", "original_decile"])
    look = pd.read_csv(shared / "lsoa11_lsoa21_lad22_lookup.csv", encoding="utf-8-sig")
    look = look[["LSOA11CD", "LAD22CD", "LAD22NM"]].drop_duplicates("LSOA11CD")
    lsoa = imd[imd["nation"] == "E"].merge(pop, on="lsoa", validate="one_to_one")
    lsoa = lsoa.merge(look, left_on="lsoa", right_on="LSOA11CD", validate="one_to_one")
    wide = lsoa.pivot_table(
        index=["LAD22CD", "LAD22NM"], columns="original_decile", values="pop", aggfunc="sum", fill_value=0
    )
    wide.columns = [f"d{int(c)}" for c in wide.columns]
    la = wide.reset_index().rename(columns={"LAD22CD": "code", "LAD22NM": "name"})
    la.insert(2, "population", la[list(DECILES)].sum(axis=1))
    return la.sort_values("code").reset_index(drop=True), _icb_table(shared)


def _icb_table(shared: Path) -> pd.DataFrame:
    """ICB populations by age band and sex, mid-2022, from ONS's workbook."""
    xl = pd.read_excel(
        shared / "ons_pop_estimates_icb_mid2021_mid2022.xlsx",
        "Mid-2022 ICB 2023",
        header=3,
        engine="openpyxl",
    )
    out = xl.groupby(["ICB 2023 Code", "ICB 2023 Name"], as_index=False)["Total"].sum()
    out.columns = ["code", "name", "population"]
    for sex, letter in (("female", "F"), ("male", "M")):
        for band, (lo, hi) in AGE_BANDS.items():
            cols = [f"{letter}{a}" for a in range(lo, hi + 1)]
            sums = xl.groupby("ICB 2023 Code")[cols].sum().sum(axis=1)
            out[f"{sex}_{band}"] = out["code"].map(sums).astype("int64")
    return out.sort_values("code").reset_index(drop=True)


def population_tables(folder: str | Path | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The shipped local authority and ICB tables.

    Parameters
    ----------
    folder
        Where the tables are (default :func:`population_dir`).

    Returns
    -------
    tuple of pandas.DataFrame
        As :func:`build_population_tables` makes them.
    """
    folder = Path(folder) if folder is not None else population_dir()
    return pd.read_csv(folder / LA_TABLE), pd.read_csv(folder / ICB_TABLE)


def _short(name: str) -> str:
    """An ICB name without 'NHS' and 'Integrated Care Board', lower case."""
    n = name.lower().replace("integrated care board", "").strip()
    return n[4:].strip() if n.startswith("nhs ") else n


def find_area(query: str, folder: str | Path | None = None) -> LocalArea:
    """The local authority or ICB named or coded by ``query`` (case does not matter).

    Parameters
    ----------
    query
        An ONS code (``E06``-``E09`` districts, ``E54`` ICBs) or a name (an ICB's with or
        without "NHS" and "Integrated Care Board").
    folder
        Where the tables are (default the shipped ones).

    Returns
    -------
    LocalArea
        The area, its population and England's from the same source, and its mix.

    Raises
    ------
    AreaError
        If no area matches, naming the closest names.
    """
    la, icb = population_tables(folder)
    q = query.strip().lower()
    hit = la[(la["code"].str.lower() == q) | (la["name"].str.lower() == q)]
    if len(hit):
        r = hit.iloc[0]
        return LocalArea(
            "local authority",
            str(r["code"]),
            str(r["name"]),
            float(r["population"]),
            float(la["population"].sum()),
            LA_SOURCE,
            deciles=tuple(float(r[d]) for d in DECILES),
        )
    hit = icb[(icb["code"].str.lower() == q) | (icb["name"].map(_short) == _short(q))]
    if len(hit):
        r = hit.iloc[0]
        ages = {
            band: (
                float(r[f"female_{band}"] + r[f"male_{band}"]),
                float((icb[f"female_{band}"] + icb[f"male_{band}"]).sum()),
            )
            for band in AGE_BANDS
        }
        return LocalArea(
            "ICB",
            str(r["code"]),
            str(r["name"]),
            float(r["population"]),
            float(icb["population"].sum()),
            ICB_SOURCE,
            ages=ages,
        )
    names = [*la["name"], *icb["name"]]
    close = difflib.get_close_matches(query, names, n=5, cutoff=0.6)
    close += [n for n in names if q and q in n.lower() and n not in close][: 5 - len(close)]
    hint = f"; did you mean: {', '.join(close)}?" if close else ""
    raise AreaError(
        f"no English local authority or ICB is called {query!r}{hint} "
        "(allowed: a 2022 local authority district or 2023 ICB, by name or ONS code, e.g. Bury, E08000002, E54000057)"
    )


#: columns of a surge model that count people (or people per month), scaled to the area
SCALED = {
    "groups": ("size",),
    "demand": ("underlying", "suppressed"),
    "capacity": ("starts", "ceiling"),
    "waiting": ("initial_waiting",),
}
#: ICBs: words in a group's name that tie it to an age band (children, older people)
AGE_WORDS = {
    "age_0_17": ("child", "young", "pupil", "school"),
    "age_65_plus": ("elderly", "older", "retired"),
}


def group_factors(area: LocalArea, groups: list[str]) -> dict[str, tuple[float, str]]:
    """The factor each population group's size is multiplied by, and why.

    Parameters
    ----------
    area
        The area.
    groups
        The model's population groups.

    Returns
    -------
    dict
        Group -> (factor, reason in words).
    """
    total = (
        area.factor,
        f"{area.name}'s share of England's population ({area.population:,.0f} / {area.england:,.0f})",
    )
    out = {}
    for g in groups:
        out[g] = total
        for band, words in AGE_WORDS.items():
            if band in area.ages and any(w in g.lower() for w in words):
                here, eng = area.ages[band]
                label = band.replace("age_", "").replace("_plus", "+").replace("_", "-")
                out[g] = (
                    here / eng,
                    f"{area.name}'s share of England's people aged {label} ({here:,.0f} / {eng:,.0f})",
                )
    return out
