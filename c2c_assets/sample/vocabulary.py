"""The words of the synthetic listings: categories and sources, vehicles, brands, sizes and finishes,
cities, title and sentence templates per category, and the sources' condition and
category labels.

Templates are ``str.format`` strings filled from the context ``wording._context`` draws.
"""

from __future__ import annotations

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

# Prices: prices.py (per category and wording, placeholders planted).

_OFFERUP_CATEGORY: dict[str, str] = {
    "tires": "Wheels & tires", "wheels": "Wheels & tires", "audio": "Car audio",
}
_OFFERUP_CONDITIONS = ["USED"] * 10 + ["NEW", "NEW", "OPEN_BOX", "RECONDITIONED", "FOR_PARTS"]
_CL_CONDITIONS = ["good", "good", "excellent", "like new", "fair", "new", "salvage"]
