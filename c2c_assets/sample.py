"""Deterministic synthetic inbox generator for demos and tests.

``generate_sample`` writes a scraper inbox that follows ``ingest-contract.md``:
Craigslist and OfferUp JSONL dumps, one folder per source and scrape date, their
photos, and ``labels.csv`` with the known category of every good post (to evaluate
clustering later).

All photos are synthetic drawings made with Pillow (no real photographs): each
category has its own simple drawing (tyre rings, spoked discs, lenses, seats, ...)
with seeded variation in position, scale, rotation, colour, background and noise.

The same arguments always give byte-identical files: every random choice comes
from ``random.Random`` / ``numpy`` generators seeded from ``seed`` (never from
``hash()``, set order, the clock or the file system), gzip is written with
``mtime=0`` and no file name, and the symbolic link uses a relative target.

With ``bad_inputs=True`` a small fraction of lines is bad on purpose; the summary
says exactly how many lines must be quarantined and how many image references
must be rejected, by reason code (see ``QUARANTINE_REASONS`` and
``IMAGE_REJECTION_REASONS``). Counting rules:

* ``dumps`` counts the non-blank lines of each dump file (quarantined ones included).
* ``n_posts`` counts distinct good listings; a listing re-scraped on a later date
  ("latest scrape wins") is one post.
* ``n_images`` counts the image references of the lines that must be accepted
  (good ones and the ones that must be rejected). Quarantined lines carry no
  image references.
"""

from __future__ import annotations

import csv
import gzip
import html
import io
import json
import math
import os
import random
import struct
import zlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable

import numpy as np
from PIL import Image, ImageChops, ImageDraw, ImageFilter

__all__ = [
    "CATEGORIES",
    "SOURCES",
    "QUARANTINE_REASONS",
    "IMAGE_REJECTION_REASONS",
    "MAX_LINE_BYTES",
    "BOMB_PIXELS",
    "SampleSummary",
    "generate_sample",
]

CATEGORIES: tuple[str, ...] = (
    "tires",
    "wheels",
    "headlights",
    "tail lights",
    "bumpers",
    "seats",
    "audio",
    "engine",
    "exhaust",
    "brakes",
    "mirrors",
    "body panels",
    "suspension",
    "transmission",
)

SOURCES: tuple[str, ...] = ("craigslist", "offerup")

QUARANTINE_REASONS: tuple[str, ...] = (
    "malformed_json",
    "not_an_object",
    "missing_id",
    "invalid_id",
    "wrong_type",
    "empty_post",
    "duplicate_listing",
    "line_too_long",
)

IMAGE_REJECTION_REASONS: tuple[str, ...] = (
    "unsafe_path",
    "missing_file",
    "not_an_image",
    "corrupt_image",
    "too_many_pixels",
    "blocked_address",
    "bad_scheme",
)

MAX_LINE_BYTES = 1 << 20  # a line longer than this must be quarantined (line_too_long)
BOMB_SIDE = 30000
BOMB_PIXELS = BOMB_SIDE * BOMB_SIDE

_MIN_POSTS = 30
_MIN_POSTS_PER_DUMP = 3


@dataclass(frozen=True)
class SampleSummary:
    inbox: Path
    dumps: dict[str, int]
    n_posts: int
    expected_quarantine: dict[str, int]
    expected_image_rejections: dict[str, int]
    n_images: int
    labels_path: Path


# --------------------------------------------------------------------------- text

_VEHICLES: list[tuple[str, str, int, int, str]] = [
    ("Ford", "F150", 2004, 2023, "truck"),
    ("Ford", "F-250", 2008, 2022, "truck"),
    ("Ford", "Mustang", 2005, 2022, "car"),
    ("Ford", "Explorer", 2011, 2019, "suv"),
    ("Ford", "Focus", 2012, 2018, "car"),
    ("Chevy", "Silverado", 1999, 2022, "truck"),
    ("Chevrolet", "Tahoe", 2007, 2020, "suv"),
    ("Chevy", "Camaro", 2010, 2020, "car"),
    ("Chevrolet", "Malibu", 2013, 2021, "car"),
    ("GMC", "Sierra", 2007, 2022, "truck"),
    ("Ram", "1500", 2009, 2022, "truck"),
    ("Dodge", "Charger", 2011, 2022, "car"),
    ("Dodge", "Challenger", 2009, 2022, "car"),
    ("Jeep", "Wrangler", 2007, 2023, "suv"),
    ("Jeep", "Grand Cherokee", 2011, 2021, "suv"),
    ("Toyota", "Camry", 2007, 2023, "car"),
    ("Toyota", "Corolla", 2009, 2022, "car"),
    ("Toyota", "Tacoma", 2005, 2023, "truck"),
    ("Toyota", "Tundra", 2007, 2021, "truck"),
    ("Toyota", "4Runner", 2010, 2023, "suv"),
    ("Honda", "Civic", 2006, 2021, "car"),
    ("Honda", "Accord", 2008, 2022, "car"),
    ("Honda", "CR-V", 2012, 2022, "suv"),
    ("Nissan", "Altima", 2007, 2020, "car"),
    ("Nissan", "Frontier", 2005, 2021, "truck"),
    ("Hyundai", "Elantra", 2011, 2022, "car"),
    ("Kia", "Optima", 2011, 2020, "car"),
    ("Subaru", "WRX", 2015, 2021, "car"),
    ("Volkswagen", "Jetta", 2011, 2019, "car"),
    ("BMW", "328i", 2007, 2016, "car"),
    ("Mercedes", "C300", 2008, 2021, "car"),
    ("Lexus", "IS250", 2006, 2015, "car"),
    ("Mazda", "3", 2010, 2021, "car"),
    ("Acura", "TL", 2004, 2014, "car"),
]
_TRUCKS = [v for v in _VEHICLES if v[4] == "truck"]
_SUVS = [v for v in _VEHICLES if v[4] == "suv"]

_TIRES = [
    ("Michelin", ["Defender", "LTX M/S2", "Pilot Sport 4S", "Premier A/S"]),
    ("BFGoodrich", ["KO2", "All-Terrain T/A", "Mud-Terrain KM3"]),
    ("Goodyear", ["Wrangler Duratrac", "Eagle F1", "Assurance"]),
    ("Bridgestone", ["Dueler", "Potenza", "Turanza"]),
    ("Firestone", ["Destination A/T", "Firehawk"]),
    ("Toyo", ["Open Country A/T III", "Proxes"]),
    ("Nitto", ["Ridge Grappler", "Trail Grappler", "NT555"]),
    ("Falken", ["Wildpeak AT3W", "Azenis"]),
    ("Cooper", ["Discoverer AT3", "CS5"]),
    ("Continental", ["TerrainContact", "ExtremeContact DWS06"]),
    ("Pirelli", ["Scorpion", "P Zero"]),
    ("Hankook", ["Dynapro AT2", "Ventus"]),
    ("General", ["Grabber ATX"]),
]
_TIRE_SIZES = [
    "265/70R17", "275/55R20", "225/45R17", "205/55R16", "245/40R18", "285/75R16",
    "35x12.50R20", "33x12.50R15", "215/60R16", "255/35R19", "275/65R18", "235/65R17",
    "225/65R17", "285/45R22", "37x13.50R22", "195/65R15",
]
_WHEEL_BRANDS = ["Fuel", "Method", "American Racing", "XD", "Enkei", "BBS", "Konig",
                 "Moto Metal", "Vision", "TSW", "OEM", "Ultra"]
_FINISHES = ["chrome", "matte black", "gunmetal", "machined", "bronze", "gloss black", "silver"]
_BOLTS = [("5x114.3", 5), ("6x139.7", 6), ("5x120", 5), ("8x170", 8), ("5x100", 5),
          ("6x135", 6), ("5x127", 5), ("8x6.5", 8)]
_LIGHT_BRANDS = ["Morimoto", "Spyder", "Anzo", "OEM", "Depo", "TYC", "AlphaRex"]
_SIDES = ["driver side", "passenger side", "LH", "RH", "pair", "left", "right"]
_AUDIO_BRANDS = ["Pioneer", "Kenwood", "Alpine", "JL Audio", "Kicker", "Rockford Fosgate",
                 "Sony", "JBL", "Skar", "Sundown"]
_ENGINES = ["5.3 LS", "5.7 Hemi", "4.6 modular", "2JZ", "K24", "3.5 EcoBoost", "2.0T",
            "LS1", "350 small block", "5.0 Coyote", "B18C", "2.4 Ecotec", "3.6 Pentastar",
            "6.0 Powerstroke", "Cummins 5.9"]
_EXHAUST_BRANDS = ["Flowmaster", "Borla", "MagnaFlow", "Corsa", "Gibson", "Cherry Bomb"]
_BRAKE_BRANDS = ["Brembo", "Wilwood", "StopTech", "Akebono", "PowerStop", "EBC"]
_SEAT_BRANDS = ["Recaro", "Bride", "Sparco", "Corbeau", "OEM"]
_SEAT_COLORS = ["black", "tan", "grey", "red", "beige", "two tone"]
_SUSP_BRANDS = ["Bilstein", "Rough Country", "Fox", "King", "BC Racing", "Moog", "Tein", "Zone"]
_TRANS = ["4L60E", "4L80E", "6R80", "NV4500", "T56", "5R110", "68RFE", "CVT", "A340",
          "TH350", "6L80", "ZF 8HP"]
_COLORS = ["white", "black", "silver", "red", "blue", "grey", "dark green", "orange", "gold"]
_PAINT_CODES = ["UA", "NH731P", "040", "1G3", "G1", "PXR", "WA8555", "218", "3R3", "YZ",
                "PW7", "8X8", "B593M"]
_CITIES: list[tuple[str, list[str], str, str]] = [
    ("waco", ["Waco", "Hewitt", "Woodway"], "-0600", "Waco, TX"),
    ("dallas", ["Dallas", "Plano", "Garland", "Fort Worth", "Arlington"], "-0600", "Dallas, TX"),
    ("austin", ["Austin", "Round Rock", "Pflugerville"], "-0600", "Austin, TX"),
    ("houston", ["Houston", "Katy", "Pasadena", "Spring"], "-0600", "Houston, TX"),
    ("sanantonio", ["San Antonio", "New Braunfels"], "-0600", "San Antonio, TX"),
    ("phoenix", ["Phoenix", "Mesa", "Tempe", "Glendale"], "-0700", "Phoenix, AZ"),
    ("losangeles", ["Van Nuys", "Compton", "Long Beach", "Pomona"], "-0800", "Los Angeles, CA"),
    ("atlanta", ["Atlanta", "Marietta", "Decatur"], "-0500", "Atlanta, GA"),
    ("denver", ["Denver", "Aurora", "Lakewood"], "-0700", "Denver, CO"),
    ("chicago", ["Chicago", "Cicero", "Joliet"], "-0600", "Chicago, IL"),
]

_TITLES: dict[str, list[str]] = {
    "tires": [
        "4 {tire_brand} tires {tire_size}", "{tire_size} {tire_brand} {tire_model} set of 4",
        "Pair of {tire_size} tires {tread}% tread", "(2) {tire_brand} {tire_size}",
        "Used tires {tire_size}", "{tire_brand} {tire_model} {tire_size} like new",
        "Spare tire {tire_size} full size", "{tire_size} all terrain tires",
        "Set of 4 tires {tire_size} {tread}% tread left", "{tire_size} tires off {ymm}",
        "Tires {tire_size} x4",
    ],
    "wheels": [
        "{wheel_size} {wheel_brand} wheels {bolt}", '{inch}" {finish} rims {lug} lug',
        "{inch} inch {finish} rims {lug} lug", 'OEM {mm} {inch}" wheels',
        "Set of 4 {finish} wheels {bolt}", "{wheel_brand} {wheel_size} rims",
        "Stock wheels off {ymm}", "{inch}s {finish} {wheel_brand} - fits {make}",
        "Rims {bolt} {wheel_size}",
    ],
    "headlights": [
        "{ymm} headlights", "{mm} headlight {side}", "Headlight assembly {side} {mm} {yr_range}",
        "LED projector headlights {mm} {yr_range}", "OEM HID headlight {side} {make}",
        "{light_brand} headlights for {mm}", "Headlamps pair {yr_range} {mm}",
        "{make} {model} head lights",
    ],
    "tail lights": [
        "Smoked tail lights {mm} {year}", "Tail light {side} {mm}",
        "LED taillights {mm} {yr_range}", "OEM brake light assembly {make} {model}",
        "{light_brand} sequential tail lamps {mm}", "{ymm} tail lights pair",
        "Taillight {side} for {mm}",
    ],
    "bumpers": [
        "{mm} front bumper cover", "Rear bumper {ymm}", "Steel off road bumper {truck_mm}",
        "Front bumper complete w/ grille & fog lights {mm}", "Chrome rear step bumper {truck_mm}",
        "{ymm} bumper", "Bumper cover {color} {mm} {yr_range}",
    ],
    "seats": [
        "Leather bucket seats pair", "{mm} front seats", "{seat_brand} racing seats",
        "Bench seat {truck_mm}", "3rd row seat {suv_mm}", "Heated seats out of {ymm}",
        "{seat_color} leather seats {mm}", "Driver seat {ymm}",
    ],
    "audio": [
        "{audio_brand} head unit with CarPlay", "{sub_size}in subs in ported box + amp",
        "{audio_brand} double din", '{audio_brand} {sub_size}" sub',
        "{audio_brand} amp {watts} watt", "{audio_brand} comp {sub_size} w/ box",
        "{audio_brand} 6.5 speakers", "Car stereo {audio_brand} bluetooth",
        "Dual {sub_size}s in a box",
    ],
    "engine": [
        "{engine} engine {miles}k miles", "{engine} motor out of {ymm}",
        "Complete engine swap {engine}", "Cylinder heads {engine}", "Intake manifold {engine}",
        "Turbo for {mm}", "Long block {engine} rebuilt", "{make} {engine} motor",
        "Engine {engine} ran when pulled",
    ],
    "exhaust": [
        "Catalytic converter OEM", "{exhaust_brand} cat back exhaust {mm}",
        "{exhaust_brand} muffler {pipe} inch", "Headers for {engine}",
        "Exhaust tips {pipe} inch", "Stock exhaust off {ymm}",
        "Straight pipe {pipe} inch {truck_mm}", "Dual exhaust {mm}",
    ],
    "brakes": [
        "{brake_brand} brake calipers", "Rotors and pads {mm}", "Big brake kit {pistons} piston",
        "Front brake rotors pair {mm}", "{brake_brand} calipers {pistons} pot",
        "Brake pads new in box {make}", "Rear brakes {ymm}", "Drilled and slotted rotors {mm}",
    ],
    "mirrors": [
        "Side mirror {side} {mm}", "Tow mirrors {truck_mm}", "Power folding mirror {side} {make}",
        "Rear view mirror auto dimming", "{ymm} mirror {side}", "Mirror glass {side} {mm}",
        "Heated side mirror {mm} {yr_range}",
    ],
    "body panels": [
        "{mm} hood", "Driver door shell {mm}", "Fender {side} {ymm}", "Trunk lid {mm}",
        "Quarter panel {mm}", "Tailgate {truck_mm}", "{color} door {mm} {yr_range}",
        "Hood and fenders {mm}",
    ],
    "suspension": [
        "{lift} inch lift kit {truck_mm}", "Coilovers {mm}", "{susp_brand} shocks {truck_mm}",
        "Leveling kit {truck_mm}", "Upper control arms {mm}", "Air ride kit {mm}",
        "Front struts {ymm}", "Lowering springs {mm}",
    ],
    "transmission": [
        "{trans} transmission", "Manual {speeds} speed {make}", "Transmission out of {ymm}",
        "Torque converter {trans}", "Transfer case {truck_mm}", "{trans} rebuilt",
        "{make} {model} transmission {miles}k",
    ],
}

_SENTENCES: dict[str, list[str]] = {
    "tires": [
        "About {tread32}/32 tread left.", "No plugs, no patches.", "DOT date code {dot}.",
        "Came off my {ymm}.", "Can mount and balance for extra.",
        "Some dry rot on the sidewalls, priced accordingly.", "Even wear, rotated every 5k.",
        "Only {low_miles}k miles on them.", "One has a plug, holds air fine.",
        "Great tread left, no leaks.", "Size is {tire_size}.",
    ],
    "wheels": [
        "No curb rash.", "Will fit {mm} and more, {bolt} bolt pattern.", "Center caps included.",
        "One has light curb rash, the rest are clean.", "Lug nuts and locks included.",
        "Powder coated last year.", "Offset is {offset}.",
        "All 4 hold air, no bends or cracks.", "TPMS sensors included.",
    ],
    "headlights": [
        "No cracks, all tabs intact.", "Slight haze on the lens, polish will fix.",
        "Plug and play.", "Both sides, clear lenses.",
        "One mounting tab broken but holds fine.", "Part number {part_no}.", "LED DRL works.",
        "Bulbs not included.", "Aftermarket, like new.",
    ],
    "tail lights": [
        "No moisture inside.", "All LEDs work.", "Bulbs and harness included.",
        "Small scratch on the lens.", "Part number {part_no}.",
        "Sequential turn signal, plug and play.", "Came off my {ymm}.",
    ],
    "bumpers": [
        "Minor scratches, needs paint.", "Color code {paint_code}.", "Has parking sensor holes.",
        "Too big to ship.", "Couple cracked tabs, easy fix.", "Fog lights included.",
        "Came off a {color} {ymm}.", "Winch ready, fits {truck_mm}.",
    ],
    "seats": [
        "Heated, no rips or tears.", "Power seats, all motors work.",
        "Small tear on the driver bolster.", "Cloth, clean, no smoke, no pets.",
        "{seat_color} leather.", "Rails and brackets included.", "Seat belts included.",
        "Airbags still in the seats.",
    ],
    "audio": [
        "Bumps hard.", "Works great, selling because I upgraded.", "Wiring harness included.",
        "Tested before removal.", "{watts} watts RMS.", "Comes with remote and mic.",
        "Box is sealed, no leaks.", "Android Auto and CarPlay.",
    ],
    "engine": [
        "Ran when pulled.", "Compression tested {psi} psi on all cylinders.",
        "Comes with harness and ECU.", "Video of it running available.", "{miles}k miles.",
        "No knocks, no leaks.", "Needs new gaskets.", "Can help load with a forklift.",
    ],
    "exhaust": [
        "Pulled from a {ymm}.", "Sounds mean.", "Clamps and hangers included.",
        "No holes, no rust through.", "{pipe} inch piping.", "Stock, drone free.",
        "Ceramic coated.",
    ],
    "brakes": [
        "Plenty of meat left on the pads.", "Rotors resurfaced.",
        "Calipers painted red, no leaks.", "Part number {part_no}.", "Bolt on for {mm}.",
        "Brand new, wrong part ordered.", "Pads at about 70%.",
    ],
    "mirrors": [
        "Power and heated, works.", "Glass cracked, housing good.", "Puddle light works.",
        "Blind spot sensor included.", "{color_cap}, color matched.", "Plug and play.",
    ],
    "body panels": [
        "Color code {paint_code}.", "Small dent, easy fix.", "No rust.", "Needs paint.",
        "Came off a {color} {ymm}.", "Glass and regulator included.",
    ],
    "suspension": [
        "Less than 10k miles on it.", "All hardware included.", "No leaks.",
        "Adjustable damping.", "{lift} inch lift.", "Came off my {ymm}.",
    ],
    "transmission": [
        "Shifts smooth, no slipping.", "{miles}k miles.", "Rebuilt last year, receipts.",
        "Comes with torque converter.", "Fluid is clean and red.", "Pulled from a {ymm}.",
    ],
}

_SLANG = [
    "OBO.", "Pick up only.", "No lowballers, I know what I have.", "Cash only.",
    "Serious buyers only.", "No trades.", "Text only, no calls.", "First come first serve.",
    "Price is firm.", "Located in {city}.", "If it's listed it's available.",
    "Can meet halfway.", "Cash or Zelle.", "No holds.", "Don't ask for my lowest.",
    "Will deliver for gas money.", "Pick up only, no shipping.",
]
_SHORT_DESCS = ["Works.", "Like new", "Good condition", "Make offer", "Text me", "OBO", ".", "Works good"]

_PRICE_RANGES: dict[str, tuple[float, float]] = {
    "tires": (40, 900), "wheels": (100, 2500), "headlights": (30, 600),
    "tail lights": (20, 400), "bumpers": (50, 1500), "seats": (50, 1200),
    "audio": (20, 800), "engine": (300, 6000), "exhaust": (40, 1500),
    "brakes": (20, 1200), "mirrors": (15, 400), "body panels": (40, 800),
    "suspension": (50, 2500), "transmission": (200, 3500),
}

_OFFERUP_CATEGORY: dict[str, str] = {
    "tires": "Wheels & tires", "wheels": "Wheels & tires", "audio": "Car audio",
}
_OFFERUP_CONDITIONS = ["USED"] * 10 + ["NEW", "NEW", "OPEN_BOX", "RECONDITIONED", "FOR_PARTS"]
_CL_CONDITIONS = ["good", "good", "excellent", "like new", "fair", "new", "salvage"]


def _pick_vehicle(rng: random.Random, pool: list | None = None) -> tuple[str, str, int, int, int]:
    make, model, lo, hi, _ = rng.choice(pool or _VEHICLES)
    year = rng.randint(lo, hi)
    return make, model, year, max(lo, year - rng.randint(0, 2)), min(hi, year + rng.randint(0, 3))


def _part_number(rng: random.Random) -> str:
    kind = rng.randrange(3)
    digits = "0123456789"
    letters = "ABCDEFGHJKLMNPRSTUVWXYZ"
    if kind == 0:
        return "".join(rng.choice(digits) for _ in range(8))
    if kind == 1:
        return (rng.choice(letters) + rng.choice(digits) + rng.choice(letters) + rng.choice(letters)
                + "-" + "".join(rng.choice(digits) for _ in range(5)) + "-" + rng.choice(letters))
    return ("".join(rng.choice(digits) for _ in range(5)) + "-"
            + "".join(rng.choice(letters + digits) for _ in range(3)) + "-"
            + rng.choice(letters) + "0" + rng.choice(digits))


def _context(rng: random.Random, city: str) -> dict[str, Any]:
    make, model, year, y0, y1 = _pick_vehicle(rng)
    tmake, tmodel, tyear, _, _ = _pick_vehicle(rng, _TRUCKS)
    smake, smodel, _, _, _ = _pick_vehicle(rng, _SUVS)
    tire_brand, tire_models = rng.choice(_TIRES)
    bolt, lug = rng.choice(_BOLTS)
    inch = rng.choice([15, 16, 17, 17, 18, 18, 20, 20, 22, 24])
    width = rng.choice([7, 7.5, 8, 8.5, 9, 10, 12])
    color = rng.choice(_COLORS)
    return {
        "make": make, "model": model, "year": year,
        "mm": f"{make} {model}", "ymm": f"{year} {make} {model}",
        "yr_range": f"{y0}-{y1}" if y0 != y1 else str(year),
        "truck_mm": f"{tmake} {tmodel}", "suv_mm": f"{smake} {smodel}",
        "tire_brand": tire_brand, "tire_model": rng.choice(tire_models),
        "tire_size": rng.choice(_TIRE_SIZES), "tread": rng.choice([50, 60, 70, 75, 80, 85, 90, 95]),
        "tread32": rng.randint(4, 11), "dot": f"{rng.randint(1, 52):02d}{rng.randint(18, 23)}",
        "low_miles": rng.randint(2, 15),
        "wheel_brand": rng.choice(_WHEEL_BRANDS), "wheel_size": f"{inch}x{width:g}",
        "inch": inch, "finish": rng.choice(_FINISHES), "bolt": bolt, "lug": lug,
        "offset": f"{rng.choice(['+', '-', '+'])}{rng.choice([0, 12, 18, 20, 35, 40, 45])}",
        "light_brand": rng.choice(_LIGHT_BRANDS), "side": rng.choice(_SIDES),
        "part_no": _part_number(rng),
        "audio_brand": rng.choice(_AUDIO_BRANDS), "sub_size": rng.choice([8, 10, 12, 12, 15]),
        "watts": rng.choice([300, 500, 800, 1000, 1500, 2000, 3000]),
        "engine": rng.choice(_ENGINES), "miles": rng.randint(40, 220), "psi": rng.randint(140, 190),
        "exhaust_brand": rng.choice(_EXHAUST_BRANDS), "pipe": rng.choice([2.5, 3, 3.5, 4, 5]),
        "brake_brand": rng.choice(_BRAKE_BRANDS), "pistons": rng.choice([4, 6, 8]),
        "seat_brand": rng.choice(_SEAT_BRANDS), "seat_color": rng.choice(_SEAT_COLORS),
        "susp_brand": rng.choice(_SUSP_BRANDS), "lift": rng.choice([2, 2.5, 3, 4, 6]),
        "trans": rng.choice(_TRANS), "speeds": rng.choice([5, 6]),
        "color": color, "color_cap": color.capitalize(), "paint_code": rng.choice(_PAINT_CODES),
        "city": city,
    }


def _fmt(template: str, ctx: dict[str, Any]) -> str:
    return template.format(**ctx)


def _title(rng: random.Random, category: str, ctx: dict[str, Any]) -> str:
    t = _fmt(rng.choice(_TITLES[category]), ctx)
    r = rng.random()
    if r < 0.06:
        t = t.upper()
    elif r < 0.10:
        t = t.lower()
    r = rng.random()
    if r < 0.08:
        t += " OBO"
    elif r < 0.12:
        t += " - must go"
    elif r < 0.15:
        t = "OEM " + t
    elif r < 0.17:
        t = "NEW " + t
    return t


def _sentences(rng: random.Random, category: str, ctx: dict[str, Any]) -> list[str]:
    """1-4 sentences, or [] / a very short one for some posts."""
    r = rng.random()
    if r < 0.05:
        return []
    if r < 0.12:
        return [rng.choice(_SHORT_DESCS)]
    n = rng.choices([1, 2, 3, 4], weights=[25, 35, 25, 15])[0]
    pool = _SENTENCES[category]
    n_cat = min(len(pool), max(1, n - (1 if rng.random() < 0.6 else 0)))
    out = [_fmt(s, ctx) for s in rng.sample(pool, n_cat)]
    while len(out) < n:
        out.append(_fmt(rng.choice(_SLANG), ctx))
    return out


# ------------------------------------------------------------------------ prices

def _round_price(v: float) -> int:
    if v < 50:
        return max(5, int(round(v / 5.0)) * 5)
    if v < 500:
        return int(round(v / 10.0)) * 10
    return int(round(v / 25.0)) * 25


def _cl_price(style: str, value: int) -> str | None:
    if style == "dollar":
        return f"${value:,}"
    if style == "plain":
        return str(value)
    if style == "obo":
        return f"${value:,} obo"
    if style == "k":
        return f"{value / 1000:.1f}k".replace(".0k", "k")
    if style == "free":
        return "Free"
    if style == "OBO":
        return "OBO"
    return None


def _ou_price(style: str, value: float) -> Any:
    if style == "str2":
        return f"{value:.2f}"
    if style == "int":
        return int(value)
    if style == "float":
        return value
    if style == "strint":
        return str(int(value))
    return None


# ----------------------------------------------------------------------- drawing

_SS = 2  # supersampling factor for smoother edges


class _Pen:
    """Draws shapes given in a local frame, mapped by scale, rotation and translation."""

    __slots__ = ("draw", "a", "b", "c", "d", "tx", "ty", "s")

    def __init__(self, draw: ImageDraw.ImageDraw, cx: float, cy: float, scale: float, angle: float):
        ca, sa = math.cos(angle), math.sin(angle)
        self.draw = draw
        self.a, self.b, self.c, self.d = scale * ca, -scale * sa, scale * sa, scale * ca
        self.tx, self.ty, self.s = cx, cy, scale

    def pt(self, x: float, y: float) -> tuple[float, float]:
        return (self.a * x + self.b * y + self.tx, self.c * x + self.d * y + self.ty)

    def _w(self, width: float) -> int:
        return max(1, int(round(width * self.s)))

    def poly(self, pts, fill=None, outline=None, width: float = 0.0) -> None:
        xy = [self.pt(x, y) for x, y in pts]
        if outline is not None:
            self.draw.polygon(xy, fill=fill, outline=outline, width=self._w(width))
        else:
            self.draw.polygon(xy, fill=fill)

    def circle(self, x, y, r, fill=None, outline=None, width: float = 0.0) -> None:
        X, Y = self.pt(x, y)
        R = r * self.s
        if outline is not None:
            self.draw.ellipse((X - R, Y - R, X + R, Y + R), fill=fill, outline=outline,
                              width=self._w(width))
        else:
            self.draw.ellipse((X - R, Y - R, X + R, Y + R), fill=fill)

    def ellipse(self, x, y, rx, ry, fill=None, outline=None, width: float = 0.0, n: int = 28) -> None:
        pts = [(x + rx * math.cos(2 * math.pi * k / n), y + ry * math.sin(2 * math.pi * k / n))
               for k in range(n)]
        self.poly(pts, fill=fill, outline=outline, width=width)

    def rect(self, x0, y0, x1, y1, fill=None, outline=None, width: float = 0.0) -> None:
        self.poly([(x0, y0), (x1, y0), (x1, y1), (x0, y1)], fill=fill, outline=outline, width=width)

    def rrect(self, x0, y0, x1, y1, r, fill=None, outline=None, width: float = 0.0) -> None:
        r = min(r, (x1 - x0) / 2, (y1 - y0) / 2)
        pts = []
        for cx, cy, a0 in ((x1 - r, y0 + r, -90), (x1 - r, y1 - r, 0), (x0 + r, y1 - r, 90),
                           (x0 + r, y0 + r, 180)):
            for k in range(5):
                a = math.radians(a0 + 22.5 * k)
                pts.append((cx + r * math.cos(a), cy + r * math.sin(a)))
        self.poly(pts, fill=fill, outline=outline, width=width)

    def line(self, pts, fill, width: float) -> None:
        self.draw.line([self.pt(x, y) for x, y in pts], fill=fill, width=self._w(width),
                       joint="curve")

    def sector(self, r0, r1, a0, a1, fill, n: int = 6) -> None:
        outer = [(r1 * math.cos(a0 + (a1 - a0) * k / n), r1 * math.sin(a0 + (a1 - a0) * k / n))
                 for k in range(n + 1)]
        inner = [(r0 * math.cos(a1 - (a1 - a0) * k / n), r0 * math.sin(a1 - (a1 - a0) * k / n))
                 for k in range(n + 1)]
        self.poly(outer + inner, fill=fill)


def _jit(c, rng: random.Random, amt: int = 12) -> tuple[int, int, int]:
    return tuple(max(0, min(255, int(v + rng.randint(-amt, amt)))) for v in c)  # type: ignore[return-value]


def _shade(c, f: float) -> tuple[int, int, int]:
    return tuple(max(0, min(255, int(v * f))) for v in c)  # type: ignore[return-value]


_CAR_COLORS = [(235, 235, 232), (25, 25, 28), (175, 178, 182), (170, 25, 30), (30, 60, 140),
               (95, 98, 102), (25, 75, 45), (220, 110, 20), (190, 160, 90), (120, 20, 35)]
_CALIPER_COLORS = [(200, 30, 30), (230, 190, 30), (30, 30, 32), (40, 80, 170), (180, 180, 185)]
_SEAT_RGB = [(30, 30, 32), (190, 160, 120), (110, 110, 115), (140, 30, 30), (215, 200, 170)]


def _d_tires(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    rubber = _jit((28, 28, 30), V, 6)
    hollow = V.random() < 0.5
    letters = V.random() < 0.35
    n_tread = V.choice([28, 32, 36, 40])
    pair = V.random() < 0.3
    spots = [(-0.42, 0.0, 0.58), (0.42, 0.0, 0.58)] if pair else [(0.0, 0.0, 1.0)]
    for ox, oy, k in spots:
        p.circle(ox, oy, 1.0 * k, fill=rubber)
        p.circle(ox, oy, 0.86 * k, outline=_shade(rubber, 1.6), width=0.02 * k)
        for t in range(n_tread):
            a = 2 * math.pi * t / n_tread + 0.05 * P.random()
            ca, sa = math.cos(a), math.sin(a)
            p.line([(ox + 0.87 * k * ca, oy + 0.87 * k * sa), (ox + 0.99 * k * ca, oy + 0.99 * k * sa)],
                   fill=(70, 70, 72), width=0.035 * k)
        if letters:
            for t in range(10):
                a = -2.4 + 0.16 * t
                p.line([(ox + 0.74 * k * math.cos(a), oy + 0.74 * k * math.sin(a)),
                        (ox + 0.74 * k * math.cos(a + 0.09), oy + 0.74 * k * math.sin(a + 0.09))],
                       fill=(225, 225, 220), width=0.05 * k)
        if hollow:
            p.circle(ox, oy, 0.6 * k, fill=bg)
        else:
            p.circle(ox, oy, 0.6 * k, fill=(90, 92, 95))
            p.circle(ox, oy, 0.2 * k, fill=(60, 60, 62))


def _d_wheels(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    finish = V.choice([(205, 208, 212), (230, 232, 236), (45, 45, 48), (120, 122, 126), (160, 120, 70)])
    finish = _jit(finish, V, 8)
    spokes = V.choice([5, 6, 7, 10])
    lugs = V.choice([5, 6, 8])
    with_tire = V.random() < 0.4
    r = 1.0
    if with_tire:
        p.circle(0, 0, 1.0, fill=(30, 30, 32))
        r = 0.78
    p.circle(0, 0, r, fill=finish)
    p.circle(0, 0, r * 0.95, outline=_shade(finish, 0.7), width=0.03)
    gap = 2 * math.pi / spokes
    dark = (25, 25, 27) if sum(finish) > 300 else (10, 10, 12)
    for t in range(spokes):
        a0 = t * gap + gap * 0.22
        a1 = (t + 1) * gap - gap * 0.22
        p.sector(r * 0.32, r * 0.88, a0, a1, fill=dark)
    p.circle(0, 0, r * 0.3, fill=_shade(finish, 0.9))
    for t in range(lugs):
        a = 2 * math.pi * t / lugs
        p.circle(r * 0.2 * math.cos(a), r * 0.2 * math.sin(a), r * 0.035, fill=(80, 80, 85))
    p.circle(0, 0, r * 0.1, fill=_jit((60, 60, 65), P, 10))
    p.line([(-r * 0.6, -r * 0.7), (-r * 0.2, -r * 0.9)], fill=_shade(finish, 1.25), width=0.03)


def _lens_shape(V: random.Random) -> list[tuple[float, float]]:
    base = [(-1.0, -0.25), (-0.5, -0.5), (0.55, -0.62), (1.0, -0.25), (0.95, 0.35),
            (0.3, 0.55), (-0.85, 0.45)]
    return [(x + V.uniform(-0.08, 0.08), y + V.uniform(-0.08, 0.08)) for x, y in base]


def _d_headlights(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    shape = _lens_shape(V)
    housing = _jit((40, 40, 44), V, 8)
    lens = V.choice([(215, 225, 235), (225, 220, 190), (205, 190, 130)])
    p.poly(shape, fill=housing)
    p.poly([(x * 0.9, y * 0.86) for x, y in shape], fill=_jit(lens, P, 6))
    n = V.choice([1, 2])
    for k in range(n):
        cx = -0.45 + 0.55 * k if n == 2 else 0.0
        for rr, g in ((0.3, 150), (0.24, 190), (0.17, 225), (0.1, 250)):
            p.circle(cx, 0.0, rr, fill=(g, g, min(255, g + 5)))
        if V.random() < 0.5:
            p.circle(cx, 0.0, 0.09, fill=(30, 35, 45))
            p.circle(cx - 0.03, -0.03, 0.03, fill=(240, 240, 255))
    if V.random() < 0.6:
        p.line([(-0.75, 0.3), (-0.1, 0.38), (0.6, 0.25)], fill=(250, 250, 255), width=0.05)
    if V.random() < 0.5:
        p.rect(0.55, -0.1, 0.85, 0.15, fill=(235, 140, 20))


def _d_tail_lights(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    l_shape = V.random() < 0.5
    red = V.choice([(190, 25, 35), (210, 35, 40), (95, 20, 25)])
    if l_shape:
        shape = [(-1.0, -0.6), (0.1, -0.6), (0.1, 0.0), (1.0, 0.0), (1.0, 0.6), (-1.0, 0.6)]
    else:
        shape = [(-1.0, -0.45), (0.7, -0.55), (1.0, 0.0), (0.7, 0.55), (-1.0, 0.45)]
    shape = [(x + V.uniform(-0.06, 0.06), y + V.uniform(-0.06, 0.06)) for x, y in shape]
    p.poly(shape, fill=(35, 30, 30))
    p.poly([(x * 0.92, y * 0.85) for x, y in shape], fill=_jit(red, P, 8))
    for k in range(V.choice([2, 3, 4])):
        x = -0.8 + 0.35 * k
        p.line([(x, -0.4), (x + 0.1, 0.4)], fill=_shade(red, 0.6), width=0.04)
    p.rect(-0.9, 0.15, -0.45, 0.4, fill=(235, 235, 235))
    if V.random() < 0.5:
        p.rect(-0.35, 0.2, 0.0, 0.38, fill=(240, 150, 30))


def _d_bumpers(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    kind = V.choice(["front", "front", "rear", "steel"])
    if kind == "steel":
        col = (35, 35, 37)
        p.poly([(-1.6, -0.3), (1.6, -0.3), (1.5, 0.35), (-1.5, 0.35)], fill=col)
        p.rect(-1.3, -0.55, 1.3, -0.3, fill=_shade(col, 1.2))
        for x in (-0.9, 0.9):
            p.circle(x, 0.05, 0.12, fill=(200, 30, 30))
            p.circle(x, 0.05, 0.06, fill=col)
        for k in range(8):
            p.circle(-1.2 + 0.34 * k, 0.25, 0.02, fill=(70, 70, 70))
        return
    col = _jit(V.choice(_CAR_COLORS), V, 8)
    top = [(-1.6 + 3.2 * k / 8, -0.45 + 0.12 * (1 - ((k - 4) / 4) ** 2)) for k in range(9)]
    bottom = [(1.5, 0.5), (-1.5, 0.5)]
    p.poly([(-1.6, 0.1)] + top + [(1.6, 0.1)] + bottom, fill=col)
    p.line([(-1.4, -0.25), (1.4, -0.25)], fill=_shade(col, 1.3) if sum(col) < 500 else (250, 250, 250), width=0.04)
    if kind == "front":
        p.poly([(-0.8, -0.05), (0.8, -0.05), (0.65, 0.38), (-0.65, 0.38)], fill=(20, 20, 22))
        for k in range(4):
            y = 0.02 + 0.09 * k
            p.line([(-0.75 + 0.03 * k, y), (0.75 - 0.03 * k, y)], fill=(60, 60, 62), width=0.02)
        for x in (-1.2, 1.2):
            p.circle(x, 0.15, 0.13, fill=(25, 25, 27))
            p.circle(x, 0.15, 0.08, fill=(230, 230, 215))
    else:
        p.rect(-0.45, -0.1, 0.45, 0.25, fill=_shade(col, 0.75))
        for x in (-1.25, -0.8, 0.8, 1.25):
            p.circle(x, -0.05, 0.035, fill=(30, 30, 30))


def _one_seat(p: _Pen, ox: float, k: float, col, V: random.Random) -> None:
    dark = _shade(col, 0.7)
    light = _shade(col, 1.35) if sum(col) < 300 else _shade(col, 0.85)
    p.rrect(ox - 0.42 * k, -0.75 * k, ox + 0.42 * k, 0.35 * k, 0.12 * k, fill=col)
    p.rrect(ox - 0.5 * k, -0.6 * k, ox - 0.34 * k, 0.35 * k, 0.08 * k, fill=dark)
    p.rrect(ox + 0.34 * k, -0.6 * k, ox + 0.5 * k, 0.35 * k, 0.08 * k, fill=dark)
    p.rrect(ox - 0.22 * k, -1.0 * k, ox + 0.22 * k, -0.78 * k, 0.08 * k, fill=col)
    p.rect(ox - 0.1 * k, -0.8 * k, ox - 0.06 * k, -0.74 * k, fill=(150, 150, 150))
    p.rect(ox + 0.06 * k, -0.8 * k, ox + 0.1 * k, -0.74 * k, fill=(150, 150, 150))
    p.rrect(ox - 0.5 * k, 0.3 * k, ox + 0.55 * k, 0.75 * k, 0.12 * k, fill=_shade(col, 0.9))
    for t in (-0.15, 0.0, 0.15):
        p.line([(ox + t * k, -0.65 * k), (ox + t * k, 0.25 * k)], fill=light, width=0.015 * k)
    p.rect(ox - 0.35 * k, 0.75 * k, ox + 0.35 * k, 0.85 * k, fill=(60, 60, 60))


def _d_seats(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    col = _jit(V.choice(_SEAT_RGB), V, 8)
    if V.random() < 0.4:
        _one_seat(p, -0.5, 0.85, col, V)
        _one_seat(p, 0.5, 0.85, col, V)
    else:
        _one_seat(p, 0.0, 1.0, col, V)


def _d_audio(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    kind = V.choice(["head", "speaker", "box", "amp"])
    if kind == "head":
        h = V.choice([0.35, 0.6])
        p.rrect(-1.1, -h, 1.1, h, 0.06, fill=(22, 22, 24))
        p.rect(-0.7, -h * 0.75, 0.7, h * 0.55, fill=_jit(V.choice([(40, 110, 200), (30, 160, 150), (60, 60, 160)]), V, 10))
        p.rect(-0.6, -h * 0.55, 0.1, -h * 0.3, fill=(200, 220, 240))
        p.circle(-0.9, 0.0, 0.13, fill=(70, 70, 75))
        p.circle(-0.9, 0.0, 0.07, fill=(150, 150, 155))
        for k in range(5):
            p.rect(-0.6 + 0.26 * k, h * 0.65, -0.42 + 0.26 * k, h * 0.88, fill=(90, 90, 95))
    elif kind == "speaker":
        p.circle(0, 0, 1.0, fill=(30, 30, 32))
        p.circle(0, 0, 0.92, fill=(185, 185, 190))
        p.circle(0, 0, 0.82, fill=(40, 40, 44))
        p.circle(0, 0, 0.74, fill=_jit((22, 22, 25), P, 5))
        p.circle(0, 0, 0.3, fill=(55, 55, 60))
        p.circle(-0.08, -0.08, 0.08, fill=(120, 120, 125))
        for t in range(8):
            a = 2 * math.pi * t / 8
            p.circle(0.96 * math.cos(a), 0.96 * math.sin(a), 0.025, fill=(90, 90, 90))
    elif kind == "box":
        p.rect(-1.4, -0.75, 1.4, 0.75, fill=_jit((45, 45, 50), V, 6))
        for x in (-0.7, 0.7) if V.random() < 0.6 else (0.0,):
            p.circle(x, 0, 0.62, fill=(170, 170, 175))
            p.circle(x, 0, 0.55, fill=(20, 20, 22))
            p.circle(x, 0, 0.2, fill=(60, 60, 65))
        p.rect(-1.3, 0.55, -1.0, 0.68, fill=(190, 30, 30))
    else:
        col = V.choice([(190, 192, 196), (25, 25, 28), (30, 60, 140)])
        p.rect(-1.2, -0.55, 1.2, 0.55, fill=col)
        for k in range(9):
            y = -0.45 + 0.11 * k
            p.line([(-1.1, y), (1.1, y)], fill=_shade(col, 0.6) if sum(col) > 200 else (90, 90, 95), width=0.03)
        for k in range(4):
            p.circle(-1.05 + 0.15 * k, 0.45, 0.04, fill=(220, 180, 40))
        p.rect(0.3, -0.2, 0.9, 0.1, fill=(200, 200, 205))


def _d_engine(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    block = _jit((125, 126, 130), V, 12)
    cover = V.choice([(190, 30, 30), (25, 25, 28), (200, 200, 205), (230, 120, 20), (30, 60, 150)])
    p.poly([(-1.1, -0.3), (1.1, -0.3), (0.95, 0.75), (-0.95, 0.75)], fill=block)
    p.rect(-1.2, -0.45, 1.2, -0.3, fill=_shade(block, 0.85))
    p.rrect(-1.05, -0.85, 1.05, -0.45, 0.12, fill=cover)
    n = V.choice([4, 6, 8])
    for k in range(n):
        x = -0.9 + 1.8 * k / (n - 1)
        p.circle(x, -0.65, 0.05, fill=_shade(cover, 0.6))
    for k in range(V.choice([2, 3])):
        p.circle(-0.8 + 0.55 * k, 0.3, 0.22 - 0.04 * k, fill=(40, 40, 42))
        p.circle(-0.8 + 0.55 * k, 0.3, 0.07, fill=(170, 170, 175))
    p.rect(-0.7, 0.75, 0.7, 0.95, fill=_shade(block, 0.7))
    p.line([(-0.9, 0.3), (-0.25, 0.3), (0.3, 0.26)], fill=(20, 20, 20), width=0.03)


def _d_exhaust(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    metal = V.choice([(175, 175, 180), (140, 95, 60), (200, 200, 205), (60, 60, 62)])
    metal = _jit(metal, V, 10)
    kind = V.choice(["muffler", "cat", "tips", "pipes"])
    pw = 0.14
    if kind in ("muffler", "cat"):
        p.line([(-1.6, 0.1), (-0.7, 0.0)], fill=metal, width=pw)
        p.line([(0.7, 0.0), (1.3, -0.2), (1.6, -0.2)], fill=metal, width=pw)
        if kind == "muffler":
            p.rrect(-0.75, -0.4, 0.75, 0.4, 0.3, fill=_shade(metal, 0.95))
        else:
            p.ellipse(0.0, 0.0, 0.7, 0.3, fill=_shade(metal, 0.9))
            p.ellipse(0.0, 0.0, 0.55, 0.2, outline=_shade(metal, 0.7), width=0.03)
        p.line([(-0.6, -0.25), (0.6, -0.25)], fill=_shade(metal, 1.3), width=0.04)
        p.circle(1.6, -0.2, 0.08, fill=(20, 20, 20))
    elif kind == "tips":
        for y in (-0.35, 0.35) if V.random() < 0.6 else (0.0,):
            p.rect(-1.2, y - 0.22, 0.9, y + 0.22, fill=metal)
            p.line([(-1.2, y - 0.12), (0.9, y - 0.12)], fill=_shade(metal, 1.3), width=0.04)
            p.ellipse(0.9, y, 0.12, 0.26, fill=_shade(metal, 1.1))
            p.ellipse(0.92, y, 0.08, 0.19, fill=(15, 15, 15))
    else:
        for k in range(2):
            y = -0.3 + 0.6 * k
            p.line([(-1.6, y), (-0.6, y), (0.0, y + 0.3 * (1 - 2 * k)), (1.6, y + 0.2)], fill=metal, width=pw)
            p.line([(-1.5, y - 0.04), (-0.6, y - 0.04)], fill=_shade(metal, 1.3), width=0.03)


def _d_brakes(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    disc = _jit((160, 160, 165), V, 10)
    p.circle(0, 0, 1.0, fill=disc)
    for rr in (0.9, 0.8, 0.7):
        p.circle(0, 0, rr, outline=_shade(disc, 0.85), width=0.01)
    if V.random() < 0.6:
        for t in range(24):
            a = 2 * math.pi * t / 24
            rr = (0.62, 0.75, 0.88)[t % 3]
            p.circle(rr * math.cos(a), rr * math.sin(a), 0.035, fill=(45, 45, 48))
    p.circle(0, 0, 0.48, fill=_shade(disc, 0.75))
    p.circle(0, 0, 0.17, fill=(35, 35, 38))
    for t in range(5):
        a = 2 * math.pi * t / 5
        p.circle(0.32 * math.cos(a), 0.32 * math.sin(a), 0.05, fill=(40, 40, 42))
    cal = _jit(V.choice(_CALIPER_COLORS), V, 8)
    a = V.uniform(-2.6, -0.6)
    p.sector(0.62, 1.12, a - 0.55, a + 0.55, fill=cal)
    p.sector(0.75, 0.98, a - 0.3, a + 0.3, fill=_shade(cal, 1.25) if sum(cal) < 400 else (245, 245, 245))


def _d_mirrors(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    kind = V.choice(["side", "side", "tow", "rear"])
    col = _jit(V.choice(_CAR_COLORS + [(20, 20, 22)] * 3), V, 8)
    glass_top = _jit((175, 200, 225), P, 10)
    glass_bot = _jit((120, 130, 140), P, 10)
    if kind == "rear":
        p.line([(0.0, -0.9), (0.0, -0.4)], fill=(40, 40, 40), width=0.1)
        p.rrect(-1.2, -0.45, 1.2, 0.45, 0.25, fill=(25, 25, 27))
        p.rrect(-1.1, -0.37, 1.1, 0.37, 0.2, fill=glass_top)
        p.rect(-1.0, 0.05, 1.0, 0.3, fill=glass_bot)
        return
    if kind == "tow":
        p.rect(-1.3, -0.15, -0.5, 0.15, fill=(30, 30, 30))
        p.rrect(-0.5, -1.0, 0.6, 1.0, 0.12, fill=(25, 25, 27))
        p.rect(-0.42, -0.9, 0.52, 0.3, fill=glass_top)
        p.rect(-0.42, 0.35, 0.52, 0.9, fill=glass_bot)
        return
    p.poly([(-1.2, -0.2), (-0.6, -0.25), (-0.6, 0.3), (-1.2, 0.35)], fill=(30, 30, 30))
    shape = [(-0.7, -0.55), (0.6, -0.7), (1.05, -0.3), (1.0, 0.45), (0.4, 0.65), (-0.7, 0.55)]
    p.poly(shape, fill=col)
    inner = [(x * 0.85 + 0.03, y * 0.8) for x, y in shape]
    p.poly(inner, fill=glass_top)
    p.poly([(x, max(y, 0.1)) for x, y in inner], fill=glass_bot)
    if V.random() < 0.4:
        p.rect(0.5, 0.3, 0.75, 0.42, fill=(240, 150, 20))


def _d_body_panels(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    col = _jit(V.choice(_CAR_COLORS), V, 8)
    hi = _shade(col, 1.3) if sum(col) < 500 else (252, 252, 252)
    lo = _shade(col, 0.75)
    kind = V.choice(["door", "hood", "fender", "tailgate"])
    if kind == "door":
        p.poly([(-1.3, -0.1), (-0.9, -0.95), (1.2, -0.95), (1.35, -0.1), (1.3, 0.9), (-1.3, 0.9)], fill=col)
        glass = (30, 35, 45) if V.random() < 0.5 else bg
        p.poly([(-1.05, -0.15), (-0.75, -0.82), (1.1, -0.82), (1.2, -0.15)], fill=glass)
        p.rect(0.7, 0.05, 1.0, 0.13, fill=lo)
        p.line([(-1.2, 0.35), (1.25, 0.3)], fill=hi, width=0.04)
    elif kind == "hood":
        p.poly([(-1.4, -0.8), (1.4, -0.8), (1.1, 0.85), (-1.1, 0.85)], fill=col)
        p.line([(-0.3, -0.75), (-0.25, 0.8)], fill=lo, width=0.03)
        p.line([(0.3, -0.75), (0.25, 0.8)], fill=lo, width=0.03)
        p.line([(-1.0, -0.5), (0.9, -0.55)], fill=hi, width=0.05)
    elif kind == "fender":
        p.poly([(-1.4, -0.6), (1.3, -0.8), (1.4, 0.8), (-1.4, 0.8)], fill=col)
        p.circle(0.0, 0.85, 0.72, fill=bg)
        p.line([(-1.3, -0.35), (1.25, -0.5)], fill=hi, width=0.04)
    else:
        p.rrect(-1.5, -0.7, 1.5, 0.7, 0.08, fill=col)
        p.rect(-1.5, -0.7, 1.5, -0.55, fill=lo)
        p.rect(-0.3, -0.1, 0.3, 0.1, fill=(200, 200, 205))
        p.line([(-1.3, 0.35), (1.3, 0.35)], fill=hi, width=0.04)


def _d_suspension(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    body = V.choice([(230, 190, 30), (30, 30, 32), (200, 200, 205), (200, 30, 30), (40, 80, 170)])
    spring = _jit(V.choice([(200, 30, 30), (40, 80, 170), (25, 25, 27), (230, 190, 30), (230, 230, 230)]), V, 8)
    if V.random() < 0.25:
        p.line([(-1.0, 0.3), (0.0, -0.3), (1.0, 0.3)], fill=_jit((60, 60, 65), V, 10), width=0.18)
        for x, y in ((-1.0, 0.3), (1.0, 0.3), (0.0, -0.3)):
            p.circle(x, y, 0.2, fill=(25, 25, 25))
            p.circle(x, y, 0.09, fill=(170, 170, 175))
        return
    p.rect(-0.14, -0.6, 0.14, 1.0, fill=body)
    p.rect(-0.05, -1.05, 0.05, -0.6, fill=(200, 200, 205))
    p.ellipse(0, -1.0, 0.42, 0.1, fill=(50, 50, 55))
    turns = V.choice([5, 6, 7])
    pts = []
    for k in range(turns * 2 + 1):
        pts.append((0.38 if k % 2 else -0.38, -0.9 + 1.6 * k / (turns * 2)))
    p.line(pts, fill=spring, width=0.09)
    p.ellipse(0, 0.75, 0.42, 0.1, fill=(50, 50, 55))
    p.circle(0, 1.05, 0.12, outline=(40, 40, 40), width=0.05)


def _d_transmission(p: _Pen, V: random.Random, P: random.Random, bg) -> None:
    alu = _jit((168, 168, 162), V, 12)
    p.circle(-0.55, 0.0, 0.75, fill=alu)
    p.poly([(-0.5, -0.6), (1.0, -0.3), (1.4, -0.2), (1.4, 0.2), (1.0, 0.35), (-0.5, 0.65)], fill=_shade(alu, 0.92))
    p.rect(1.4, -0.08, 1.6, 0.08, fill=(100, 100, 105))
    p.rect(-0.4, 0.45, 0.9, 0.75, fill=_shade(alu, 0.7))
    for k in range(7):
        p.circle(-0.35 + 0.2 * k, 0.7, 0.03, fill=(60, 60, 60))
    for t in range(10):
        a = 2 * math.pi * t / 10
        p.circle(-0.55 + 0.68 * math.cos(a), 0.68 * math.sin(a), 0.035, fill=(90, 90, 90))
    p.circle(-0.55, 0.0, 0.2, fill=(70, 70, 72))


# category -> (half extent x, half extent y, round (any rotation), drawer)
_DRAWERS: dict[str, tuple[float, float, bool, Callable]] = {
    "tires": (1.0, 1.0, True, _d_tires),
    "wheels": (1.0, 1.0, True, _d_wheels),
    "headlights": (1.05, 0.7, False, _d_headlights),
    "tail lights": (1.05, 0.65, False, _d_tail_lights),
    "bumpers": (1.65, 0.6, False, _d_bumpers),
    "seats": (1.0, 1.0, False, _d_seats),
    "audio": (1.4, 1.0, False, _d_audio),
    "engine": (1.25, 1.0, False, _d_engine),
    "exhaust": (1.65, 0.6, False, _d_exhaust),
    "brakes": (1.1, 1.1, True, _d_brakes),
    "mirrors": (1.3, 1.0, False, _d_mirrors),
    "body panels": (1.5, 0.95, False, _d_body_panels),
    "suspension": (1.0, 1.1, False, _d_suspension),
    "transmission": (1.6, 0.8, False, _d_transmission),
}

_SCENES: list[tuple[str, tuple[int, int, int], tuple[int, int, int], bool]] = [
    # name, wall/top colour, floor/bottom colour, has horizon
    ("garage", (200, 198, 190), (120, 118, 112), True),
    ("driveway", (185, 200, 215), (150, 148, 142), True),
    ("grass", (175, 195, 215), (70, 115, 50), True),
    ("carpet", (150, 130, 105), (125, 105, 85), False),
    ("asphalt", (70, 70, 72), (55, 55, 58), False),
    ("cardboard", (175, 140, 95), (160, 125, 85), False),
    ("wood", (140, 100, 65), (115, 80, 50), False),
    ("bedliner", (45, 45, 48), (30, 30, 32), False),
    ("white", (232, 232, 228), (212, 212, 208), False),
]


_RAMP = np.arange(256, dtype=np.float64)


class _Painter:
    """Renders category photos; holds seeded sensor-noise images shared by all photos."""

    _NOISE_LEVELS = (3, 5, 7, 10)
    _PAD = 64

    def __init__(self, seed: int, size: tuple[int, int]):
        self.size = size
        nrng = np.random.default_rng(seed)
        w, h = size
        base = nrng.standard_normal((h + self._PAD, w + self._PAD, 3)).astype(np.float32)
        # uint8 noise centred on 128, one image per noise level: added with ImageChops
        self.noise = {
            k: Image.fromarray(np.clip(np.rint(base * k) + 128, 0, 255).astype(np.uint8), "RGB")
            for k in self._NOISE_LEVELS
        }

    def _background(self, V: random.Random, P: random.Random) -> tuple[Image.Image, tuple[int, int, int]]:
        w, h = self.size
        name, top, bottom, horizon = V.choice(_SCENES)
        top_a = np.array(_jit(top, V, 15), dtype=np.float32)
        bot_a = np.array(_jit(bottom, V, 15), dtype=np.float32)
        t = np.linspace(0.0, 1.0, h, dtype=np.float32)
        if horizon:
            hy = P.uniform(0.2, 0.5)
            t = np.where(t < hy, t * 0.3, 0.85 + 0.15 * (t - hy) / max(1e-3, 1 - hy))
        col = top_a[None, :] * (1 - t[:, None]) + bot_a[None, :] * t[:, None]  # (h, 3)
        if name in ("wood", "bedliner"):
            period = V.choice([14, 18, 24])
            col[(np.arange(h) % period) < 2] -= 25.0
        column = Image.fromarray(np.clip(col, 0, 255).astype(np.uint8)[:, None, :], "RGB")
        bg = column.resize((w * _SS, h * _SS), Image.Resampling.NEAREST)
        bgc = tuple(int(v) for v in (top_a * 0.4 + bot_a * 0.6))
        return bg, bgc  # type: ignore[return-value]

    def render(self, category: str, vis_seed: int, photo_seed: int, noisy: bool = True) -> Image.Image:
        """One photo: post-level look from ``vis_seed``, photo-level jitter from ``photo_seed``."""
        V = random.Random(vis_seed)
        P = random.Random(photo_seed)
        w, h = self.size
        W, H = w * _SS, h * _SS
        canvas, bgc = self._background(V, P)
        draw = ImageDraw.Draw(canvas)

        ex, ey, round_, fn = _DRAWERS[category]
        scale = min(W / (2 * ex), H / (2 * ey)) * P.uniform(0.68, 0.92)
        if P.random() < 0.15:
            scale *= 1.3  # close-up, partly cropped
        cx = W / 2 + P.uniform(-0.1, 0.1) * W
        cy = H / 2 + P.uniform(-0.1, 0.1) * H
        angle = P.uniform(0, 2 * math.pi) if round_ else P.uniform(-0.26, 0.26)
        # flat shadow on the ground below the object
        sx, sy = ex * scale * 0.9, max(ey * scale * 0.3, 4.0)
        gy = cy + ey * scale * 0.8
        draw.ellipse((cx - sx + 0.1 * scale, gy - sy, cx + sx + 0.1 * scale, gy + sy),
                     fill=_shade(bgc, 0.7))
        fn(_Pen(draw, cx, cy, scale, angle), V, P, bgc)
        img = canvas.reduce(_SS)
        if P.random() < 0.3:
            img = img.filter(ImageFilter.SMOOTH)  # a slightly soft camera
        # exposure and colour cast through a lookup table, then sensor noise
        gain = P.uniform(0.85, 1.12)
        bias = P.randint(-12, 12)
        gains = np.array([gain * P.uniform(0.96, 1.04) for _ in range(3)], dtype=np.float64)
        lut = np.clip(np.floor(_RAMP[None, :] * gains[:, None] + bias + 0.5), 0, 255).astype(np.uint8)
        img = img.point(lut.tobytes())
        ox, oy = P.randrange(self._PAD), P.randrange(self._PAD)
        k = P.choice(self._NOISE_LEVELS)
        if noisy:  # PNG "product shots" stay clean (and small)
            noise = self.noise[k].crop((ox, oy, ox + w, oy + h))
            img = ImageChops.add(img, noise, 1.0, -128)
        return img


def _encode(img: Image.Image, fmt: str, special: str | None, quality: int) -> bytes:
    buf = io.BytesIO()
    if special == "cmyk":
        img.convert("CMYK").save(buf, "JPEG", quality=quality)
    elif special == "exif6":
        exif = Image.Exif()
        exif[0x0112] = 6  # Orientation: display needs a 90 degree clockwise rotation
        img.transpose(Image.Transpose.ROTATE_90).save(buf, "JPEG", quality=quality, exif=exif.tobytes())
    elif special == "rgba":
        rgba = img.convert("RGBA")
        w, h = img.size
        mask = Image.new("L", (w, h), 0)
        ImageDraw.Draw(mask).rounded_rectangle((6, 6, w - 7, h - 7), radius=min(w, h) // 5, fill=255)
        rgba.putalpha(mask)
        rgba.save(buf, "PNG")
    elif special == "p":
        img.quantize(colors=64).save(buf, "PNG")
    elif special == "i16":
        a = np.asarray(img.convert("L"), dtype=np.uint16) * 257
        Image.fromarray(a.astype("<u2")).save(buf, "PNG")
    elif fmt == "png":
        img.save(buf, "PNG", compress_level=4)
    else:
        img.save(buf, "JPEG", quality=quality)
    return buf.getvalue()


def _bomb_png(side: int = BOMB_SIDE) -> bytes:
    """A tiny PNG whose IHDR declares side x side 8-bit grey pixels (decompression bomb)."""

    def chunk(typ: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + typ + data + struct.pack(">I", zlib.crc32(typ + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
    idat = zlib.compress(b"\x00" * (side + 1) * 4, 9)  # the first 4 rows only
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


# ------------------------------------------------------------------------- posts

@dataclass
class _Photo:
    name: str  # path relative to the dump folder
    seed: int
    fmt: str  # "jpeg" | "png"
    quality: int
    uuid: str
    special: str | None = None


@dataclass
class _Post:
    source: str
    sid: str
    category: str
    day: int
    vis_seed: int
    record: dict[str, Any]
    photos: list[_Photo]
    price_value: float
    price_style: str
    posted: datetime
    bad_refs: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, value, reason)
    bad_bytes: bytes | None = None  # raw invalid UTF-8 to splice into a text field

    @property
    def post_id(self) -> str:
        return f"{self.source}:{self.sid}"


_BADBYTES_MARK = "QQBADUTF8QQ"


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:]}"


def _slug(text: str) -> str:
    words = "".join(ch.lower() if ch.isalnum() else " " for ch in text).split()
    return "-".join(words[:6]) or "auto-parts"


class _Gen:
    def __init__(self, seed: int, start_date: date, n_days: int):
        self.rng = random.Random(seed)
        self.start_date = start_date
        self.n_days = n_days
        self.used_ids: set[str] = set()

    # ---- ids
    def new_id(self, source: str) -> str:
        while True:
            if source == "craigslist":
                sid = str(self.rng.randrange(7_700_000_000, 7_799_999_999))
            else:
                sid = f"{self.rng.getrandbits(48):012x}"
            if sid not in self.used_ids:
                self.used_ids.add(sid)
                return sid

    def scrape_dt(self, day: int, offset: str) -> datetime:
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[3:5])))
        d = self.start_date + timedelta(days=day)
        return datetime(d.year, d.month, d.day, 6, 0, 0, tzinfo=tz)

    # ---- one post
    def make_post(self, source: str, day: int, category: str, n_photos: int | None = None) -> _Post:
        rng = self.rng
        sid = self.new_id(source)
        site, hoods, offset, ou_loc = rng.choice(_CITIES)
        hood_name = rng.choice(hoods)
        ctx = _context(rng, hood_name)
        title = _title(rng, category, ctx)
        sents = _sentences(rng, category, ctx)
        if rng.random() < 0.03 and sents and len(sents[0]) > 2:
            title = rng.choice(["", "", "   "])  # empty title, the description carries it
        if not title.strip() and not sents:
            sents = [_fmt(rng.choice(_SENTENCES[category]), ctx)]
        lo, hi = _PRICE_RANGES[category]
        value = _round_price(math.exp(rng.uniform(math.log(lo), math.log(hi))))
        posted = self.scrape_dt(day, offset) - timedelta(seconds=rng.randint(600, 21 * 86400))
        if n_photos is None:
            n_photos = rng.choices([0, 1, 2, 3, 4, 5], weights=[8, 30, 27, 20, 9, 6])[0]
        fmt = "png" if rng.random() < 0.12 else "jpeg"
        ext = "png" if fmt == "png" else "jpg"
        photos = [
            _Photo(f"images/{sid}_{k}.{ext}", rng.getrandbits(63), fmt,
                   rng.choice([80, 85, 85, 85, 90]), _uuid(rng) if rng.random() < 0.5 else f"{sid}-{k}")
            for k in range(n_photos)
        ]
        vis_seed = rng.getrandbits(63)
        if source == "craigslist":
            style = rng.choices(["dollar", "plain", "obo", "k", "free", "OBO", "null"],
                                weights=[52, 10, 9, 6, 2, 3, 10])[0]
            if style == "k" and value < 1000:
                style = "dollar"
            body = self._cl_body(sents, ctx)
            ttl = title
            if rng.random() < 0.02:
                ttl = self._zwsp(ttl)
            if rng.random() < 0.04 and "&" in ttl:
                ttl = ttl.replace("&", "&amp;")
            attrs: dict[str, str] = {"condition": rng.choice(_CL_CONDITIONS)}
            if rng.random() < 0.5 and ctx["make"].lower() in title.lower():
                attrs["make / manufacturer"] = ctx["make"]
            if rng.random() < 0.3:
                attrs["model name / number"] = ctx["part_no"]
            if category == "tires" and rng.random() < 0.6:
                attrs["size / dimensions"] = ctx["tire_size"]
            hood = rng.choices([f" ({hood_name}) ", f"({hood_name})", f" {hood_name} ", None],
                               weights=[70, 10, 8, 12])[0]
            record: dict[str, Any] = {
                "pid": sid,
                "url": f"https://{site}.craigslist.org/pts/d/{_slug(hood_name + ' ' + (title or category))}/{sid}.html",
                "title": ttl,
                "price": _cl_price(style, value),
                "hood": hood,
                "datetime": None if rng.random() < 0.05 else posted.strftime("%Y-%m-%dT%H:%M:%S%z"),
                "body": body,
                "attrs": attrs,
            }
            if rng.random() < 0.04:
                del record["attrs"]
        else:
            style = rng.choices(["str2", "int", "float", "strint", "null"], weights=[40, 32, 10, 10, 8])[0]
            if style == "float":
                value = value + rng.choice([0.5, 0.99, 0.25])
            ttl = title
            if rng.random() < 0.04:
                ttl = ttl + rng.choice([" \U0001F525", " \u2705", " \U0001F697"])
            desc = " ".join(sents) if rng.random() < 0.7 else "\n".join(sents)
            r = rng.random()
            if r < 0.8:
                pdate: Any = int(posted.timestamp() * 1000)
            elif r < 0.95:
                pdate = posted.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
            else:
                pdate = None
            cat_name = _OFFERUP_CATEGORY.get(category, "Auto parts")
            if rng.random() < 0.08:
                cat_name = rng.choice(["Auto parts", "Vehicles", "Other", "Truck parts"])
            record = {
                "listingId": sid,
                "title": ttl,
                "price": _ou_price(style, value),
                "description": desc,
                "condition": rng.choice(_OFFERUP_CONDITIONS),
                "categoryName": cat_name,
                "locationName": None if rng.random() < 0.06 else ou_loc,
                "postDate": pdate,
            }
            if rng.random() < 0.03:
                del record["condition"]
        return _Post(source, sid, category, day, vis_seed, record, photos, value, style, posted)

    def _zwsp(self, s: str) -> str:
        sp = [i for i, ch in enumerate(s) if ch == " "]
        if not sp:
            return s + "\u200b"
        i = self.rng.choice(sp)
        return s[:i] + "\u200b" + s[i:]

    def _cl_body(self, sents: list[str], ctx: dict[str, Any]) -> str:
        rng = self.rng
        escape = rng.random() < 0.7
        parts = [html.escape(s, quote=True) if escape else s for s in sents]
        sep = rng.choices([" ", "\n", "<br>", "\n\n", "<br>\n"], weights=[50, 20, 10, 12, 8])[0]
        body = sep.join(parts)
        if rng.random() < 0.06 and body:
            body = self._zwsp(body)
        if rng.random() < 0.15 and body:
            body += "\n\ndo NOT contact me with unsolicited services or offers"
        if rng.random() < 0.75:
            body = "QR Code Link to This Post\n\n" + body
        return body

    def reprice(self, post: _Post) -> Any:
        new_val = _round_price(post.price_value * self.rng.uniform(0.72, 0.92))
        if post.source == "craigslist":
            style = post.price_style if post.price_style in ("dollar", "plain", "obo") else "dollar"
            return _cl_price(style, new_val)
        style = post.price_style if post.price_style != "null" else "int"
        return _ou_price(style, float(new_val))


def _render_line(post: _Post, overrides: dict[str, Any] | None = None, with_images: bool = True) -> bytes:
    rec = dict(post.record)
    if overrides:
        rec.update(overrides)
    if post.source == "craigslist":
        images = [ph.name for ph in post.photos] if with_images else []
        if with_images:
            images += [value for _kind, value, _reason in post.bad_refs]
        rec["images"] = images
        text = json.dumps(rec, ensure_ascii=False)
    else:
        photos = []
        if with_images:
            photos = [{"uuid": ph.uuid, "url": None, "localPath": ph.name} for ph in post.photos]
            for kind, value, _reason in post.bad_refs:
                u = f"{post.sid}-x{len(photos)}"
                if kind == "url":
                    photos.append({"uuid": u, "url": value, "localPath": None})
                else:
                    photos.append({"uuid": u, "url": None, "localPath": value})
        rec["photos"] = photos
        text = json.dumps(rec, ensure_ascii=True, separators=(",", ":"))
    data = text.encode("utf-8")
    if post.bad_bytes is not None:
        data = data.replace(_BADBYTES_MARK.encode(), post.bad_bytes)
    return data


def _n_refs(post: _Post) -> int:
    return len(post.photos) + len(post.bad_refs)


# ------------------------------------------------------------------ bad lines

def _bad_lines(gen: _Gen, bad_inputs: bool, n_posts: int) -> list[tuple[str, bytes, str]]:
    """Quarantine lines that need no host post: (source, raw line, reason)."""
    if not bad_inputs:
        return []
    rng = gen.rng
    out: list[tuple[str, bytes, str]] = []

    def fresh(source: str) -> dict[str, Any]:
        p = gen.make_post(source, 0, rng.choice(CATEGORIES), n_photos=0)
        rec = dict(p.record)
        rec["images" if source == "craigslist" else "photos"] = []
        if not (rec.get("title") or "").strip():
            rec["title"] = "Auto parts lot"
        return rec

    def dump(source: str, rec: Any) -> bytes:
        if source == "craigslist":
            return json.dumps(rec, ensure_ascii=False).encode()
        return json.dumps(rec, ensure_ascii=True, separators=(",", ":")).encode()

    def truncated(source: str) -> bytes:
        text = dump(source, fresh(source)).decode()
        return text[: max(10, int(len(text) * rng.uniform(0.3, 0.8)))].encode()

    def missing_id(source: str) -> bytes:
        rec = fresh(source)
        if source == "craigslist":
            del rec["pid"]
        else:
            rec["listingId"] = None
        return dump(source, rec)

    def wrong_type(source: str, variant: int) -> bytes:
        rec = fresh(source)
        if source == "craigslist":
            if variant == 0:
                rec["title"] = rng.randint(100, 99999)
            elif variant == 1:
                rec["images"] = f"images/{rec['pid']}_0.jpg"
            elif variant == 2:
                rec["attrs"] = ["condition", "good"]
            else:
                rec["price"] = True
        else:
            if variant == 0:
                rec["title"] = rng.randint(1990, 2024)
            elif variant == 1:
                rec["photos"] = {"uuid": _uuid(rng), "url": None, "localPath": "images/x_0.jpg"}
            else:
                rec["price"] = [int(rec["price"] or 0) if not isinstance(rec["price"], str) else 120]
        return dump(source, rec)

    def empty(source: str) -> bytes:
        rec = fresh(source)
        if source == "craigslist":
            rec["title"] = ""
            rec["body"] = rng.choice(["   ", "\n\n ", ""])
        else:
            del rec["title"]
            rec["description"] = rng.choice(["\t", " \n ", ""])
        return dump(source, rec)

    cl, ou = "craigslist", "offerup"
    out.append((cl, truncated(cl), "malformed_json"))
    out.append((ou, truncated(ou), "malformed_json"))
    out.append((rng.choice(SOURCES), b"[" * 100_000, "malformed_json"))
    out.append((cl, b"[1,2]", "not_an_object"))
    out.append((ou, b'"str"', "not_an_object"))
    out.append((cl, missing_id(cl), "missing_id"))
    out.append((ou, missing_id(ou), "missing_id"))
    rec = fresh(cl)
    rec["pid"] = "abc12"
    out.append((cl, dump(cl, rec), "invalid_id"))
    for v in range(4):
        out.append((cl, wrong_type(cl, v), "wrong_type"))
    for v in range(3):
        out.append((ou, wrong_type(ou, v), "wrong_type"))
    out.append((cl, empty(cl), "empty_post"))
    out.append((ou, empty(ou), "empty_post"))
    rec = fresh(cl)
    filler = "Huge parts lot from my shop, everything must go, make an offer on the whole thing. "
    rec["body"] = "QR Code Link to This Post\n\n" + filler * (MAX_LINE_BYTES // len(filler) + 2000)
    out.append((cl, dump(cl, rec), "line_too_long"))
    # a few more of the common kinds, scaled with the sample size (~1% of lines overall)
    for _ in range(n_posts // 300):
        src = rng.choice(SOURCES)
        kind = rng.randrange(4)
        if kind == 0:
            out.append((src, truncated(src), "malformed_json"))
        elif kind == 1:
            out.append((src, missing_id(src), "missing_id"))
        elif kind == 2:
            out.append((src, wrong_type(src, rng.randrange(3)), "wrong_type"))
        else:
            out.append((src, empty(src), "empty_post"))
    return out


# ------------------------------------------------------------------- writing

def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name("." + path.name + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def _gzip(data: bytes) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=6) as gz:
        gz.write(data)
    return buf.getvalue()


def generate_sample(
    inbox: Path,
    *,
    n_posts: int = 3000,
    start_date: date = date(2024, 3, 1),
    n_days: int = 3,
    seed: int = 7,
    bad_inputs: bool = True,
    image_size: tuple[int, int] = (224, 168),
) -> SampleSummary:
    """Write a deterministic synthetic inbox under ``inbox`` and describe it.

    ``inbox`` must be absent or empty. Posts are split evenly over the two sources
    and ``n_days`` scrape dates starting at ``start_date``; OfferUp's last date is
    written gzipped. ``posts.jsonl[.gz]`` is written last in each dump folder.
    """
    inbox = Path(inbox)
    if n_days < 1:
        raise ValueError("n_days must be >= 1")
    if n_posts < max(_MIN_POSTS, _MIN_POSTS_PER_DUMP * len(SOURCES) * n_days):
        raise ValueError(f"n_posts must be >= {max(_MIN_POSTS, _MIN_POSTS_PER_DUMP * len(SOURCES) * n_days)}"
                         f" for n_days={n_days}")
    w, h = image_size
    if w < 32 or h < 32:
        raise ValueError("image_size must be at least 32x32")
    if inbox.exists() and any(inbox.iterdir()):
        raise FileExistsError(f"{inbox} is not empty")

    gen = _Gen(seed, start_date, n_days)
    rng = gen.rng

    # ---- good posts: balanced over sources and days, every category present
    cats = list(CATEGORIES)
    weights = [14, 12, 8, 7, 7, 7, 11, 7, 6, 7, 5, 6, 5, 4]
    cats += rng.choices(CATEGORIES, weights=weights, k=n_posts - len(cats))
    rng.shuffle(cats)
    posts: list[_Post] = []
    for i in range(n_posts):
        source = SOURCES[i % 2]
        day = (i // 2) % n_days
        posts.append(gen.make_post(source, day, cats[i]))

    # ---- roles (each on a distinct post)
    pool = list(range(n_posts))
    rng.shuffle(pool)
    taken: set[int] = set()

    def take(pred: Callable[[_Post], bool]) -> _Post:
        for i in pool:
            if i not in taken and pred(posts[i]):
                taken.add(i)
                return posts[i]
        raise ValueError("n_posts too small for the requested sample")

    def ensure_photo(p: _Post, fmt: str) -> None:
        ext = "png" if fmt == "png" else "jpg"
        if not p.photos:
            p.photos.append(_Photo(f"images/{p.sid}_0.{ext}", rng.getrandbits(63), fmt, 85, f"{p.sid}-0"))
        ph = p.photos[0]
        ph.fmt = fmt
        ph.name = f"images/{p.sid}_0.{ext}"

    specials = [("cmyk", "jpeg"), ("rgba", "png"), ("p", "png"), ("i16", "png"), ("exif6", "jpeg")]
    for special, fmt in specials:
        p = take(lambda q: True)
        ensure_photo(p, fmt)
        p.photos[0].special = special

    # repeated listings: the same id again on a later date with a changed price
    repeats: list[tuple[_Post, int, dict[str, Any]]] = []
    if n_days >= 2:
        for _ in range(max(2, n_posts // 150)):
            p = take(lambda q: q.day < n_days - 1)
            later = rng.randint(p.day + 1, n_days - 1)
            over: dict[str, Any] = {"price": gen.reprice(p)}
            if rng.random() < 0.5:
                key = "body" if p.source == "craigslist" else "description"
                over[key] = (p.record[key] + " Price dropped!").strip()
            repeats.append((p, later, over))

    dup_hosts: list[_Post] = []
    expected_q: Counter[str] = Counter()
    expected_img: Counter[str] = Counter()
    extra_files: dict[str, dict[str, tuple]] = {}  # dump -> name -> job

    def dump_key(source: str, day: int) -> str:
        return f"{source}/{(start_date + timedelta(days=day)).isoformat()}"

    outside_needed = False
    if bad_inputs:
        # tricky but acceptable lines
        p = take(lambda q: q.source == "offerup")
        p.record["price"] = "120.00"
        p.price_value, p.price_style = 120.0, "str2"
        for src, raw, text in (("craigslist", b"caf\xe9", " Meet at the caf" + _BADBYTES_MARK + " on 5th."),
                               ("offerup", b"\xff\xfe", " Se vende " + _BADBYTES_MARK + " barato.")):
            p = take(lambda q, s=src: q.source == s)
            key = "body" if src == "craigslist" else "description"
            p.record[key] = p.record[key] + text
            p.bad_bytes = raw
        # bad image references, each in an otherwise good post with a title
        bad_refs = [
            ("craigslist", "local", "/etc/passwd", "unsafe_path", None),
            ("offerup", "local", "../../outside/secret.jpg", "unsafe_path", None),
            ("craigslist", "local", "images/{sid}_link.jpg", "unsafe_path", ("symlink",)),
            ("offerup", "local", "images/{sid}_9.jpg", "missing_file", None),
            ("craigslist", "local", "images/{sid}_8.jpg", "not_an_image", ("text",)),
            ("offerup", "local", "images/{sid}_7.jpg", "corrupt_image", ("truncated",)),
            ("craigslist", "local", "images/{sid}_6.png", "too_many_pixels", ("bomb",)),
            ("craigslist", "url", "http://192.168.1.20/photo.jpg", "blocked_address", None),
            ("offerup", "url", "http://127.0.0.1:9/x.jpg", "blocked_address", None),
            ("craigslist", "url", "ftp://example.com/a.jpg", "bad_scheme", None),
        ]
        for src, kind, value, reason, job in bad_refs:
            p = take(lambda q, s=src: q.source == s and len(q.photos) <= 4 and bool((q.record.get("title") or "").strip()))
            value = value.format(sid=p.sid)
            p.bad_refs.append((kind, value, reason))
            expected_img[reason] += 1
            files = extra_files.setdefault(dump_key(p.source, p.day), {})
            if job == ("symlink",):
                files[value] = ("symlink", "../../../outside/secret.jpg")
                outside_needed = True
            elif job == ("text",):
                files[value] = ("bytes", b"<html><head><title>404 Not Found</title></head>"
                                         b"<body>The requested image was not found.</body></html>\n")
            elif job == ("truncated",):
                files[value] = ("truncated", p.category, p.vis_seed, rng.getrandbits(63))
            elif job == ("bomb",):
                files[value] = ("bytes", _bomb_png())
            if value.startswith("../"):
                outside_needed = True
        # duplicate listing in one dump: the earlier line is superseded
        for src in SOURCES:
            dup_hosts.append(take(lambda q, s=src: q.source == s))
            expected_q["duplicate_listing"] += 1

    # ---- lines per dump
    dump_posts: dict[str, list[tuple[_Post, dict[str, Any] | None]]] = {}
    for s in SOURCES:
        for d in range(n_days):
            dump_posts[dump_key(s, d)] = []
    for p in posts:
        dump_posts[dump_key(p.source, p.day)].append((p, None))
    for p, later, over in repeats:
        dump_posts[dump_key(p.source, later)].append((p, over))

    dump_lines: dict[str, list[bytes]] = {}
    n_images = 0
    for key, entries in dump_posts.items():
        entries.sort(key=lambda e: (e[0].posted, e[0].sid), reverse=True)
        lines = []
        for p, over in entries:
            lines.append(_render_line(p, over))
            n_images += _n_refs(p)
        dump_lines[key] = lines

    bad_by_dump: dict[str, list[bytes]] = {k: [] for k in dump_lines}
    keys = list(dump_lines)
    for src, raw, reason in _bad_lines(gen, bad_inputs, n_posts):
        cands = [k for k in keys if k.startswith(src + "/")]
        bad_by_dump[rng.choice(cands)].append(raw)
        expected_q[reason] += 1

    for host in dup_hosts:
        key = dump_key(host.source, host.day)
        lines = dump_lines[key]
        j = next(i for i, (p, over) in enumerate(dump_posts[key]) if p is host and over is None)
        if j == 0:
            lines[0], lines[1] = lines[1], lines[0]
            dump_posts[key][0], dump_posts[key][1] = dump_posts[key][1], dump_posts[key][0]
            j = 1
        older_price = host.price_value * rng.uniform(1.1, 1.3)
        if host.source == "craigslist":
            over = {"price": _cl_price("dollar", _round_price(older_price))}
        else:
            over = {"price": _ou_price("int", float(_round_price(older_price)))}
        lines.insert(rng.randint(1, j), _render_line(host, over, with_images=False))

    for key in keys:
        lines = dump_lines[key]
        for raw in bad_by_dump[key]:
            lines.insert(rng.randint(1, len(lines)), raw)

    dumps: dict[str, int] = {k: len(v) for k, v in dump_lines.items()}

    if bad_inputs:
        n_blank = max(4, n_posts // 300)
        for _ in range(n_blank):
            key = rng.choice(keys)
            lines = dump_lines[key]
            lines.insert(rng.randint(1, len(lines)), rng.choice([b"", b"   ", b"\t", b"  \t "]))

    # ---- write
    inbox.mkdir(parents=True, exist_ok=True)
    painter = _Painter(seed, image_size)
    if outside_needed:
        (inbox / "outside").mkdir(exist_ok=True)
        secret = painter.render(rng.choice(CATEGORIES), rng.getrandbits(63), rng.getrandbits(63))
        (inbox / "outside" / "secret.jpg").write_bytes(_encode(secret, "jpeg", None, 85))

    last_ou = dump_key("offerup", n_days - 1)
    first_cl = dump_key("craigslist", 0)
    for key in keys:
        folder = inbox / key
        (folder / "images").mkdir(parents=True, exist_ok=True)
        jobs: dict[str, tuple] = {}
        for p, _over in dump_posts[key]:
            for ph in p.photos:
                jobs[ph.name] = ("photo", p.category, p.vis_seed, ph)
        jobs.update(extra_files.get(key, {}))
        for name in sorted(jobs):
            job = jobs[name]
            target = folder / name
            if job[0] == "photo":
                _cat, vis, ph = job[1], job[2], job[3]
                img = painter.render(_cat, vis, ph.seed, noisy=ph.fmt != "png" or ph.special is not None)
                target.write_bytes(_encode(img, ph.fmt, ph.special, ph.quality))
            elif job[0] == "bytes":
                target.write_bytes(job[1])
            elif job[0] == "truncated":
                data = _encode(painter.render(job[1], job[2], job[3]), "jpeg", None, 85)
                target.write_bytes(data[: len(data) // 2])
            elif job[0] == "symlink":
                if target.is_symlink() or target.exists():
                    target.unlink()
                os.symlink(job[1], target)
        data = b"\n".join(dump_lines[key]) + b"\n"
        if bad_inputs and key == first_cl:
            data = b"\xef\xbb\xbf" + data
        if key == last_ou:
            _write_atomic(folder / "posts.jsonl.gz", _gzip(data))
        else:
            _write_atomic(folder / "posts.jsonl", data)

    labels_path = inbox / "labels.csv"
    rows = sorted((p.post_id, p.source, p.category) for p in posts)
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["post_id", "source", "category"])
    wr.writerows(rows)
    labels_path.write_text(buf.getvalue(), encoding="utf-8")

    return SampleSummary(
        inbox=inbox,
        dumps=dict(sorted(dumps.items())),
        n_posts=n_posts,
        expected_quarantine={k: expected_q[k] for k in QUARANTINE_REASONS if expected_q[k]},
        expected_image_rejections={k: expected_img[k] for k in IMAGE_REJECTION_REASONS if expected_img[k]},
        n_images=n_images,
        labels_path=labels_path,
    )
