"""The labelled query set of the realistic sample: what buyers type, with what counts as a right answer.

Kinds:

- ``paraphrase``: English in the buyer's own words, sharing no content word with its category's
  vocabulary (every word the generator writes for that category, slang, typos and Spanish included;
  ``c2c_assets_tests/sample/test_queries.py`` checks it against a generated sample); the set the search
  methods for paraphrases were developed on;
- ``paraphrase-heldout``: more of the same, written before those methods were tuned and never tuned on:
  what the paraphrase figures generalize to;
- ``spanish``: Spanish queries (Texas buyers), about a category;
- ``english``: plain English queries in the sellers' own words (the English baseline);
- ``code``: an exact part number, tire size, bolt pattern or wheel spec; its relevant posts are the ones
  whose text carries it, read from the sample's ``labels_realism.csv`` (``realism.codes_in``), so the set
  follows the seed.

A category query's relevant posts are its category's (``labels.csv``). ``load_queries(inbox)`` gives every
query with its relevant post ids; a code query that no post of a (small) sample carries is left out.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

# The kinds (its targets are over these), then the held-out paraphrases (``PARAPHRASE_HELDOUT``).
TARGET_KINDS = ("paraphrase", "spanish", "english", "code")
KINDS = (*TARGET_KINDS, "paraphrase-heldout")

# (text, category)
PARAPHRASE: list[tuple[str, str]] = [
    ("rubber for my truck", "tires"),
    ("bald? need fresh rubber", "tires"),
    ("shiny hoops for my ride", "wheels"),
    ("lamps up front so I can see at night", "headlights"),
    ("red glowing parts at the rear of my sedan", "tail lights"),
    ("guard for the nose after a fender bender", "bumpers"),
    ("somewhere comfy to sit while driving", "seats"),
    ("something to make my music louder", "audio"),
    ("power plant for my project build", "engine"),
    ("make my ride rumble louder", "exhaust"),
    ("something to help me halt quicker", "brakes"),
    ("see what is behind me when changing lanes", "mirrors"),
    ("sheet metal for the outside of my ride", "body panels"),
    ("make my pickup sit higher", "suspension"),
    ("gearbox for my ride", "transmission"),
]
# Written after the search methods of issue 15 were measured on PARAPHRASE and before any were tuned on it
# (PARAPHRASE is their development set): paraphrases no method was fitted to, one per category, under the
# same rule (no word of their category's vocabulary; the same test checks them).
PARAPHRASE_HELDOUT: list[tuple[str, str]] = [
    ("something grippy so I quit sliding on wet roads", "tires"),
    ("fancy spinners to make my ride look good", "wheels"),
    ("beams so I can see the road in the dark", "headlights"),
    ("glowing red things on the back end of my coupe", "tail lights"),
    ("crash protection for the back end of my suv", "bumpers"),
    ("cushy place to park my behind on long drives", "seats"),
    ("thumping bass for road trips", "audio"),
    ("replacement heart for my dead pickup", "engine"),
    ("make my car growl like a beast", "exhaust"),
    ("parts to slow my car down safely", "brakes"),
    ("a way to check traffic beside me", "mirrors"),
    ("replacement skin for a dented car", "body panels"),
    ("smoother trip over potholes", "suspension"),
    ("the thing that changes gears in my car", "transmission"),
]
SPANISH: list[tuple[str, str]] = [
    ("llantas para mi camioneta", "tires"),
    ("rines de 20 pulgadas", "wheels"),
    ("faros delanteros", "headlights"),
    ("calaveras traseras", "tail lights"),
    ("defensa delantera", "bumpers"),
    ("asientos de piel", "seats"),
    ("bocinas para el carro", "audio"),
    ("motor completo", "engine"),
    ("mofle para mi troca", "exhaust"),
    ("discos y balatas", "brakes"),
    ("espejo lateral", "mirrors"),
    ("cofre y salpicaderas", "body panels"),
    ("kit de levante", "suspension"),
    ("transmisión automática", "transmission"),
]
ENGLISH: list[tuple[str, str]] = [
    ("used tires", "tires"),
    ("chrome rims", "wheels"),
    ("headlight assembly", "headlights"),
    ("LED tail lights", "tail lights"),
    ("front bumper cover", "bumpers"),
    ("leather seats", "seats"),
    ("subs and amp", "audio"),
    ("engine swap", "engine"),
    ("cat back exhaust", "exhaust"),
    ("brake calipers", "brakes"),
    ("side mirror", "mirrors"),
    ("hood and fenders", "body panels"),
    ("lift kit", "suspension"),
    ("rebuilt transmission", "transmission"),
]
# (code, category of the posts that carry it)
CODES: list[tuple[str, str]] = [
    ("84002-0E010", "headlights"),
    ("33150-TBA-A01", "headlights"),
    ("04465-04070", "brakes"),
    ("52119-04220", "bumpers"),
    ("265/70R17", "tires"),
    ("275/55R20", "tires"),
    ("35x12.50R20", "tires"),
    ("5x114.3", "wheels"),
    ("6x139.7", "wheels"),
    ("20x10", "wheels"),
]


@dataclass(frozen=True)
class Query:
    text: str
    kind: str
    category: str
    relevant: frozenset[str]  # post ids


def load_queries(inbox: Path) -> list[Query]:
    """Every query with its relevant post ids in the sample written to ``inbox`` (``labels.csv`` and
    ``labels_realism.csv`` of ``generate_sample``)."""
    inbox = Path(inbox)
    by_category: dict[str, set[str]] = {}
    with open(inbox / "labels.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            by_category.setdefault(row["category"], set()).add(row["post_id"])
    by_code: dict[str, set[str]] = {}
    with open(inbox / "labels_realism.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            for code in row["codes"].split():
                by_code.setdefault(code, set()).add(row["post_id"])
    out = [
        Query(text, kind, category, frozenset(by_category.get(category, ())))
        for kind, pairs in (("paraphrase", PARAPHRASE), ("spanish", SPANISH), ("english", ENGLISH),
                            ("paraphrase-heldout", PARAPHRASE_HELDOUT))
        for text, category in pairs
    ]
    out += [Query(code, "code", category, frozenset(by_code[code])) for code, category in CODES if by_code.get(code)]
    return out
