"""DuckDB draws a progress bar on stdout for any query over 2 s; the package's connections must not, since
`c2c ... --json` prints to the same stdout (at 1.2M posts it broke `c2c search --json`)."""

import json
import subprocess
import sys

# In a process of its own, as the CLI runs: DuckDB's default differs inside pytest's captured streams.
PROBE = """
import json, sys
from c2c_assets.home import C2cHome
from c2c_assets.ingest.invariants import _db
from c2c_assets.warehouse import connect, scratch

def bar(db):
    return db.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]

home = C2cHome.from_env(sys.argv[1]).ensure()
seen = {}
with connect(home) as db:
    seen["warehouse"] = bar(db)
with connect(home, read_only=True) as db:
    seen["warehouse read-only"] = bar(db)
with scratch(home) as db:
    seen["scratch"] = bar(db)
db = _db(home)
seen["invariants"] = bar(db)
db.close()
print(json.dumps(seen))
"""


def test_no_connection_draws_a_progress_bar(tmp_path):
    done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path / "home")], capture_output=True, text=True, check=True)
    seen = json.loads(done.stdout)
    assert seen == dict.fromkeys(["warehouse", "warehouse read-only", "scratch", "invariants"], False)
