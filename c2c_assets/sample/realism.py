"""What real C2C listings have that the templates alone do not: Spanish and Spanglish posts, slang and
typos, useless titles (the photo still shows the part), and the codes buyers search by: OEM part numbers,
tire sizes, bolt patterns, wheel specs and fitment ("Fits 2016-2020 Honda Civic").

``Realism`` rewrites a post's drawn title and sentences after ``wording`` made them, and puts them in the
post's record once the generator has drawn everything else for it (``apply``). It draws from its own
stream (``random.Random(f"{seed}-realism")``), so the base stream, and with it every id, price, date and
photo of the sample, stays as it was; only the words change. ``labels_realism.csv`` (beside
``labels.csv``) says per post: its language (``en``, ``es`` or ``spanglish``), whether its title is noisy,
and the codes its final text carries (``codes_in``); ``sample.queries`` derives the part-number and size
queries' relevant posts from it.

Shares (of all posts): about 10% Spanish or Spanglish, 7% noisy titles, 15% of the English ones with
slang and typos; part numbers from ``PART_CATALOGUE`` in about a third of the posts of its categories.
"""

from __future__ import annotations

import csv
import html
import io
import random
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from c2c_assets.storage import write_atomic

SPANISH_SHARE = 0.10
SPANGLISH_SHARE = 0.4  # of the Spanish-speaking posts: Spanish mixed with English
NOISY_TITLE_SHARE = 0.07
TYPO_SHARE = 0.15  # of the English posts
CATALOGUE_SHARE = 0.35  # of the posts of a category that has catalogue part numbers
FITMENT_SHARE = 0.25

# OEM-style part numbers that recur across posts (as real ones do): number -> (category, make, model, years).
PART_CATALOGUE: dict[str, tuple[str, str, str, int, int]] = {
    "84002-0E010": ("headlights", "Toyota", "4Runner", 2014, 2020),
    "33150-TBA-A01": ("headlights", "Honda", "Civic", 2016, 2020),
    "92101-3X000": ("headlights", "Hyundai", "Elantra", 2011, 2013),
    "81550-06500": ("tail lights", "Toyota", "Camry", 2018, 2021),
    "33500-TBA-A01": ("tail lights", "Honda", "Civic", 2016, 2020),
    "04465-04070": ("brakes", "Toyota", "Tacoma", 2005, 2015),
    "45022-TBA-A00": ("brakes", "Honda", "Civic", 2016, 2021),
    "87940-04180": ("mirrors", "Toyota", "Tacoma", 2016, 2022),
    "52119-04220": ("bumpers", "Toyota", "Tacoma", 2016, 2022),
    "53301-0E170": ("body panels", "Toyota", "4Runner", 2014, 2020),
    "48510-09N00": ("suspension", "Toyota", "Tacoma", 2005, 2015),
    "22030-0V010": ("engine", "Toyota", "Camry", 2018, 2022),
    "17410-0C500": ("exhaust", "Toyota", "Tundra", 2014, 2021),
    "42611-0C200": ("wheels", "Toyota", "Tundra", 2014, 2021),
}
_BY_CATEGORY: dict[str, list[str]] = {}
for _number, (_category, *_rest) in PART_CATALOGUE.items():
    _BY_CATEGORY.setdefault(_category, []).append(_number)

# Categories where "fits <years> <make> <model>" makes sense (not seats or audio: those fit anything).
_FITMENT = {"tires", "wheels", "headlights", "tail lights", "bumpers", "engine", "exhaust", "brakes", "mirrors",
            "body panels", "suspension", "transmission"}

_SIDES_ES = ["lado del chofer", "lado del pasajero", "izquierdo", "derecho", "par"]
_FINISHES_ES = ["cromados", "negro mate", "gris", "maquinados", "bronce", "negros", "plateados"]
_COLORS_ES = ["blanca", "negra", "plateada", "roja", "azul", "gris", "verde", "naranja", "dorada"]

_TITLES_ES: dict[str, list[str]] = {
    "tires": ["llantas {tire_size} casi nuevas", "4 llantas {tire_brand} {tire_size}", "Vendo llantas {tire_size} seminuevas",
              "par de llantas {tire_size}", "llantas usadas {tire_size} con {tread}% de vida", "llanta de refaccion {tire_size}",
              "llantas {tire_size} para {truck_mm}"],
    "wheels": ["rines de {inch}", "rines {wheel_brand} {wheel_size} {bolt}", "rines de {inch} pulgadas para {mm}",
               "rines {finish_es} de {inch}", "juego de 4 rines {bolt}", "rines originales {mm}"],
    "headlights": ["faros {mm} {yr_range}", "faro {side_es} {mm}", "faros delanteros {ymm}", "faros LED para {mm}",
                   "par de faros {make} {model}", "focos delanteros {mm}"],
    "tail lights": ["calaveras {mm} {year}", "calavera {side_es} {mm}", "calaveras LED {mm} {yr_range}",
                    "calaveras traseras {ymm}", "par de calaveras ahumadas {mm}"],
    "bumpers": ["defensa delantera {mm}", "defensa trasera {ymm}", "fascia delantera {mm} {yr_range}",
                "defensa de acero para {truck_mm}", "fascia trasera {color_es} {mm}"],
    "seats": ["asientos de piel {mm}", "asientos delanteros {mm}", "asientos deportivos {seat_brand}",
              "asiento de banca {truck_mm}", "tercera fila de asientos {suv_mm}"],
    "audio": ["bocinas y amplificador", "estereo {audio_brand} con pantalla", "bajos de {sub_size} con cajon",
              "amplificador {audio_brand} {watts} watts", "bocinas {audio_brand} 6.5", "estereo doble din {audio_brand}"],
    "engine": ["motor {engine} completo", "motor para {mm}", "motor {engine} {miles} mil millas", "cabezas para {engine}",
               "motor {make} {engine} jalando"],
    "exhaust": ["mofle {exhaust_brand}", "escape completo {mm}", "catalizador original", "mofles para {truck_mm}",
                "escape de acero {pipe} pulgadas"],
    "brakes": ["frenos {brake_brand}", "discos y balatas {mm}", "calipers de freno {pistons} pistones", "balatas nuevas {make}",
               "frenos traseros {ymm}"],
    "mirrors": ["espejo lateral {side_es} {mm}", "espejos para {truck_mm}", "espejo electrico {side_es} {make}",
                "espejo retrovisor", "espejo {ymm} {side_es}"],
    "body panels": ["cofre {mm}", "puerta del chofer {mm}", "salpicadera {side_es} {ymm}", "tapa de cajuela {mm}",
                    "compuerta {truck_mm}", "cofre y salpicaderas {mm}"],
    "suspension": ["kit de levante {lift} pulgadas {truck_mm}", "amortiguadores {susp_brand} {truck_mm}", "coilovers para {mm}",
                   "kit de nivelacion {truck_mm}", "resortes para bajar {mm}", "horquillas superiores {mm}"],
    "transmission": ["transmisión automática {trans}", "transmisión estándar {speeds} velocidades {make}", "transmisión de {ymm}",
                     "convertidor de torque {trans}", "caja de transferencia {truck_mm}", "transmisión {trans} reconstruida"],
}
_SENTENCES_ES: dict[str, list[str]] = {
    "tires": ["Les queda buen dibujo.", "Sin parches ni ponchaduras.", "Le quedan a {mm}.", "Medida {tire_size}.",
              "Se las quité a mi {ymm}.", "Tienen como {tread}% de vida."],
    "wheels": ["Barrenacion {bolt}.", "Sin golpes ni rayones.", "Incluye birlos y tapones.", "Medida {wheel_size}, offset {offset}.",
               "Le quedan a {mm}.", "Los 4 rines derechitos."],
    "headlights": ["Sin estrellones, todas las patitas completas.", "La mica esta un poco opaca.", "Conectar y listo.",
                   "Numero de parte {part_no}.", "Los dos lados."],
    "tail lights": ["No les entra agua.", "Todos los LEDs prenden.", "Incluye arnes y focos.", "Se las quité a mi {ymm}."],
    "bumpers": ["Tiene unos rayones, ocupa pintura.", "Codigo de color {paint_code}.", "Trae los faros de niebla.",
                "Muy grande para enviar."],
    "seats": ["Sin rasgaduras.", "Asientos electricos, todo funciona.", "Con calefaccion.", "Incluye rieles y cinturones."],
    "audio": ["Suenan bien fuerte.", "Incluye arnes.", "Probado antes de quitarlo.", "{watts} watts RMS.",
              "Con CarPlay y Android Auto."],
    "engine": ["Estaba jalando cuando lo bajé.", "Compresion de {psi} en todos los cilindros.", "Incluye computadora y arnes.",
               "No tira aceite.", "Tengo video funcionando."],
    "exhaust": ["Suena bien bravo.", "Incluye abrazaderas y soportes.", "Sin hoyos.", "Tubo de {pipe} pulgadas."],
    "brakes": ["A las balatas les queda bastante.", "Discos rectificados.", "Nuevos, pedí la pieza equivocada.",
               "Numero de parte {part_no}."],
    "mirrors": ["Electrico y con calefaccion.", "Vidrio estrellado, la carcasa bien.", "Conectar y listo."],
    "body panels": ["Codigo de color {paint_code}.", "Tiene un golpecito.", "Sin oxido.", "Ocupa pintura."],
    "suspension": ["Incluye toda la tornilleria.", "No gotean.", "Le dio {lift} pulgadas.", "Se lo quité a mi {ymm}."],
    "transmission": ["Cambia suave, no patina.", "{miles} mil millas.", "Reconstruida el año pasado.",
                     "El aceite esta limpio y rojo."],
}
_TITLES_SPANGLISH: dict[str, list[str]] = {
    "tires": ["llantas {tire_size} like new", "tires {tire_size} casi nuevas", "llantas all terrain {tire_size}"],
    "wheels": ["rines {inch}s chrome", "rims de {inch} para {truck_mm}", "rines {wheel_size} {bolt} bolt pattern"],
    "headlights": ["faros headlights {mm}", "headlights {mm} como nuevos"],
    "tail lights": ["calaveras tail lights {mm}", "taillights {mm} calaveras LED"],
    "bumpers": ["bumper delantero {mm}", "defensa rear bumper {truck_mm}"],
    "seats": ["seats de piel {mm}", "asientos leather {mm}"],
    "audio": ["subs de {sub_size} con amp", "bocinas y amp {audio_brand}"],
    "engine": ["motor {engine} runs good", "engine {engine} jalando"],
    "exhaust": ["mofle {exhaust_brand} sounds good", "exhaust completo {mm}"],
    "brakes": ["brakes y rotores {mm}", "balatas brake pads {make}"],
    "mirrors": ["espejo side mirror {side}", "tow mirrors para {truck_mm}"],
    "body panels": ["cofre hood {mm}", "puerta door {mm}"],
    "suspension": ["lift kit de {lift} pulgadas", "coilovers para {mm} like new"],
    "transmission": ["transmisión {trans} shifts good", "tranny automática {trans}"],
}
_FILLERS_ES = ["Precio a tratar.", "Solo efectivo.", "Se entrega en {city}.", "Mande mensaje.", "No cambios.",
               "Urge vender.", "Funciona al 100.", "Buenas condiciones.", "Nomas efectivo, no trueques."]

NOISY_TITLES = ["Everything must go", "Misc stuff", "call/text 254-555-0182", "Moving sale!!", "Garage clean out",
                "Car parts", "Make offer", "Parts for sale", "Stuff for sale", "MUST SELL", "text 512-555-0147",
                "cash only pick up today", "Cleaning out the garage", "Random parts"]
_NOISY_DESCS = ["Text me for details.", "Pick up only, make an offer.", "Ask if interested.", "Everything in the pics."]

# Misspellings and slang buyers and sellers write; applied word by word to some English posts.
_TYPOS: dict[str, list[str]] = {
    "tires": ["tyres", "tirez"], "wheels": ["wheelz", "weels"], "rims": ["rimz"], "headlights": ["headlites"],
    "headlight": ["headlite"], "tail": ["tale"], "transmission": ["tranny", "transmision"], "exhaust": ["exaust", "exhuast"],
    "brakes": ["breaks"], "brake": ["break"], "suspension": ["suspention"], "bumper": ["bumber"], "speakers": ["speakrs"],
    "subs": ["subz"], "mirror": ["mirrow"], "engine": ["engin"], "included": ["incl"], "with": ["w/"],
    "leather": ["lether"], "converter": ["convertor"], "catalytic": ["catalitic"], "assembly": ["assy"],
}
_SLANG_EN = ["Hit me up.", "Lmk.", "Dont waste my time.", "Need gone ASAP.", "No scammers!!!", "Priced to sell!!!",
             "Need gone this weekend.", "Serious inquiries only pls.", "Holla at me."]

_TIRE_SIZE = re.compile(r"\b(?:\d{3}/\d{2}Z?R\d{2}|\d{2}x\d{1,2}(?:\.\d{1,2})?R\d{2})\b", re.IGNORECASE)
_PAIR = re.compile(r"(?<![\w./])\d{1,2}x\d{1,3}(?:\.\d{1,2})?(?![\w/])")  # bolt patterns (5x114.3), wheel specs (20x10)
_PART = re.compile(r"\b\d{5}-[0-9A-Z]{3,5}(?:-[0-9A-Z]{2,3})?\b")


def codes_in(text: str) -> list[str]:
    """Tire sizes, bolt patterns / wheel specs and OEM-style part numbers in ``text``, in order, once each
    (tire sizes upper-cased: ``265/70r17`` is ``265/70R17``)."""
    found: list[str] = []
    for match in _TIRE_SIZE.finditer(text):
        found.append(match.group(0).upper().replace("X", "x"))
    rest = _TIRE_SIZE.sub(" ", text)
    found += [m.group(0) for m in _PAIR.finditer(rest)]
    found += [m.group(0) for m in _PART.finditer(rest)]
    return list(dict.fromkeys(found))


class Realism:
    """Rewrites drawn titles and sentences; remembers, per post id, its language and title kind."""

    def __init__(self, seed: int, enabled: bool = True) -> None:
        self.rng = random.Random(f"{seed}-realism")
        self.enabled = enabled
        self.notes: dict[str, tuple[str, bool, bool]] = {}  # post_id -> (language, noisy title, no word on the item)

    def rewrite(self, post_id: str, category: str, ctx: dict[str, Any], title: str,
                sentences: list[str]) -> tuple[str, list[str]] | None:
        """The post's new title and sentences, or None when it keeps the drawn ones."""
        if not self.enabled:
            return None
        drawn = (title, list(sentences))
        rng = self.rng
        c = {**ctx, "side_es": rng.choice(_SIDES_ES), "finish_es": rng.choice(_FINISHES_ES),
             "color_es": rng.choice(_COLORS_ES)}
        part = None
        if category in _BY_CATEGORY and rng.random() < CATALOGUE_SHARE:
            part = rng.choice(_BY_CATEGORY[category])
            _, make, model, y0, y1 = PART_CATALOGUE[part]
            year = rng.randint(y0, y1)
            c.update(make=make, model=model, year=year, mm=f"{make} {model}", ymm=f"{year} {make} {model}",
                     yr_range=f"{y0}-{y1}", part_no=part)
        r = rng.random()
        language = "en"
        if r < SPANISH_SHARE:
            language = "spanglish" if rng.random() < SPANGLISH_SHARE else "es"
        sentences = list(sentences)
        if language == "es":
            title = rng.choice(_TITLES_ES[category]).format(**c)
            pool = _SENTENCES_ES[category]
            sentences = [s.format(**c) for s in rng.sample(pool, rng.randint(1, min(3, len(pool))))]
            if rng.random() < 0.6:
                sentences.append(rng.choice(_FILLERS_ES).format(**c))
        elif language == "spanglish":
            if rng.random() < 0.6:
                title = rng.choice(_TITLES_SPANGLISH[category]).format(**c)
            else:
                title = rng.choice(_TITLES_ES[category]).format(**c)
            sentences = sentences[:2] + [rng.choice(_SENTENCES_ES[category]).format(**c)]
            rng.shuffle(sentences)
        elif rng.random() < TYPO_SHARE:
            title = self._typos(title)
            sentences = [self._typos(s) for s in sentences]
            if rng.random() < 0.5:
                sentences.append(rng.choice(_SLANG_EN))
        extra = self._codes(category, c, part, language)
        if extra:
            sentences.append(extra)
        noisy = rng.random() < NOISY_TITLE_SHARE
        useless = False
        if noisy:
            title = rng.choice(NOISY_TITLES)
            if rng.random() < 0.3:  # nothing in the text says what it is: only the photo does
                sentences = [rng.choice(_NOISY_DESCS)]
                useless = True
        self.notes[post_id] = (language, noisy, useless)
        return None if (title, sentences) == drawn else (title, sentences)

    def apply(self, record: dict[str, Any], source: str, title: str, sentences: list[str], *, blank_title: bool,
              cl_body: Callable[[list[str], random.Random], str]) -> None:
        """Put the new words in a post's record, after the base stream drew everything for the old ones.

        ``cl_body(sentences, rng)`` is the generator's Craigslist body style (escaping, breaks, the QR line),
        drawn here from this stream. A title the generator blanked stays blank (the description carries it)."""
        rng = self.rng
        if blank_title and sentences:
            title = ""
        record["title"] = title
        if source == "craigslist":
            record["body"] = cl_body(sentences, rng)
        else:
            record["description"] = " ".join(sentences) if rng.random() < 0.7 else "\n".join(sentences)

    def _typos(self, text: str) -> str:
        rng = self.rng
        words = text.split(" ")
        for i, word in enumerate(words):
            key = word.lower().strip(".,!")
            if key in _TYPOS and rng.random() < 0.7:
                words[i] = word.lower().replace(key, rng.choice(_TYPOS[key]))
            elif word.isalpha() and len(word) >= 6 and rng.random() < 0.08:
                j = rng.randrange(1, len(word) - 2)  # two letters swapped: the commonest typo
                words[i] = word[:j] + word[j + 1] + word[j] + word[j + 2:]
        return " ".join(words)

    def _codes(self, category: str, c: dict[str, Any], part: str | None, language: str) -> str | None:
        """One sentence with a part number, size, bolt pattern or fitment, or None."""
        rng = self.rng
        es = language != "en"
        if part is not None:
            if es:
                return f"Numero de parte {part}, le queda a {c['yr_range']} {c['mm']}."
            return rng.choice([f"OEM part # {part}. Fits {c['yr_range']} {c['mm']}.", f"Part number {part}.",
                               f"P/N {part}, fits {c['yr_range']} {c['mm']}."])
        if category == "tires" and rng.random() < 0.4:
            return f"Medida {c['tire_size']}." if es else f"Size {c['tire_size']}."
        if category == "wheels" and rng.random() < 0.5:
            return (f"Rines {c['wheel_size']}, barrenacion {c['bolt']}." if es
                    else f"{c['wheel_size']} offset {c['offset']}, {c['bolt']} bolt pattern.")
        if category in _FITMENT and rng.random() < FITMENT_SHARE:
            return f"Le queda a {c['yr_range']} {c['mm']}." if es else f"Fits {c['yr_range']} {c['mm']}."
        return None


def post_text(record: dict[str, Any]) -> str:
    """A record's title and description as a reader sees them (HTML entities and breaks undone)."""
    body = record.get("body") if "body" in record else record.get("description")
    text = f"{record.get('title') or ''} {body or ''}"
    return html.unescape(text.replace("<br>", " "))


def write_labels(path: Path, posts: list[Any], realism: Realism) -> Path:
    """``labels_realism.csv``: per good post, its language, whether its title is noisy, whether none of its
    text says what the item is (``noisy_text``: a junk title and a junk description), and its codes."""
    rows = []
    for post in posts:
        language, noisy, useless = realism.notes.get(post.post_id, ("en", False, False))
        rows.append((post.post_id, language, int(noisy), int(useless), " ".join(codes_in(post_text(post.record)))))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["post_id", "language", "noisy_title", "noisy_text", "codes"])
    writer.writerows(sorted(rows))
    return write_atomic(path, buf.getvalue(), durable=False)
