"""The quality group end to end on a generated sample with planted reposts, stock photos and junk: real
ingest, real default-encoder embeddings, real Dagster runs of the quality assets and their checks; precision
and recall per planted kind; the views; the commands' JSON; search --dedupe / --hide-flagged; bad input."""

from __future__ import annotations

import json
from collections import Counter

import pytest
from typer.testing import CliRunner

from c2c_assets.cli import app
from c2c_assets.home import C2cHome
from c2c_assets.quality.evaluation import FLAG_KINDS, evaluate, read_labels
from c2c_assets.runner import materialize
from c2c_assets.sample import generate_sample
from c2c_assets.warehouse import query
from c2c_assets_tests.fixtures import build_index, embed, ingest

runner = CliRunner()
DAYS = ["2024-03-01", "2024-03-02", "2024-03-03"]
CORRUPT_NOTE = "the stored photo overwritten with bytes that are no image"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A 300-post sample, ingested and embedded (default encoder), clustered, then the quality group run; one
    stored photo is corrupted after ingest (a photo that cannot be hashed)."""
    import dagster as dg

    from c2c_assets.defs.analysis.assets import analyse_encoder, cluster_report
    from c2c_assets.defs.quality import assets as q

    root = tmp_path_factory.mktemp("quality")
    inbox, home = root / "inbox", C2cHome(root / "home").ensure()
    generate_sample(inbox, n_posts=300)
    with dg.instance_for_test() as instance:
        for day in DAYS:
            ingest(home, inbox, instance, day)
        for day in DAYS:
            embed(home, instance, "default", day)
        # A stored photo that breaks after ingest (disk rot, a partial copy): hashed as unhashable, post kept.
        (victim, path), = query(home, "SELECT post_id, path FROM post_images WHERE status = 'ok' AND position = 1 ORDER BY post_id LIMIT 1")
        home.stored_image(path).write_bytes(b"not a jpeg at all")
        outcome = materialize(home, [analyse_encoder], partition_key="default", instance=instance, config={"analyse_encoder": {"k": 6}})
        assert outcome.success, outcome.failure
        first = materialize(home, [q.photo_hashes, q.photo_groups, q.each_photo_in_one_group, q.post_flags], instance=instance)
        assert first.success, first.failure
        per_encoder = materialize(home, [q.post_neighbours, q.repost_groups, q.one_repost_group_per_post, q.post_scores, q.scores_for_every_post],
                                  partition_key="default", instance=instance)
        assert per_encoder.success, per_encoder.failure
        again = materialize(home, [q.photo_hashes], instance=instance)
        report = materialize(home, [cluster_report], partition_key="default", instance=instance)
        assert report.success, report.failure
        build_index(home, instance, "default")
    return {"home": home, "inbox": inbox, "first": first, "per_encoder": per_encoder, "again": again, "victim": victim}


def test_planted_kinds_are_found_with_precision_and_recall(built):
    scores = evaluate(built["home"], built["inbox"])
    assert scores["reposts"]["f1"] >= 0.9, scores["reposts"]
    for kind in ("repost_same_site", "repost_cross_site"):
        assert scores[kind]["truth"] > 0 and scores[kind]["f1"] >= 0.9, (kind, scores[kind])
    photos = scores["photo_near_duplicates"]
    assert photos["truth"] > 10 and photos["recall"] >= 0.95 and photos["precision"] >= 0.95, photos
    for kind in FLAG_KINDS:
        assert scores[kind]["truth"] > 0, kind
        assert scores[kind]["recall"] >= 0.9 and scores[kind]["precision"] >= 0.9, (kind, scores[kind])


def test_metadata_checks_and_incremental_hashing(built):
    groups = built["first"].metadata["photo_groups"]
    assert groups["stock_groups"] >= 2 and groups["near_duplicate_groups"] >= 5
    assert "data:image/jpeg;base64," in groups["largest_groups"]  # the gallery has thumbnails
    assert built["first"].metadata["post_flags"]["flagged_posts"] > 0
    assert built["per_encoder"].metadata["repost_groups"]["cross_site_groups"] > 0
    assert built["again"].metadata["photo_hashes"]["hashed_now"] == 0  # nothing new: nothing decoded again
    assert built["again"].metadata["photo_hashes"]["photos"] == built["first"].metadata["photo_hashes"]["photos"]


def test_views_have_the_documented_grain(built):
    home = built["home"]
    assert query(home, "SELECT count(*) FROM (SELECT group_id, post_id, encoder FROM repost_groups GROUP BY ALL HAVING count(*) > 1)") == [(0,)]
    assert query(home, "SELECT count(*) FROM (SELECT post_id FROM repost_groups GROUP BY post_id, encoder HAVING count(DISTINCT group_id) > 1)") == [(0,)]
    columns = [c for (c,) in query(home, "SELECT column_name FROM (DESCRIBE post_flags)")]
    assert columns[:3] == ["post_id", "flag", "score"]
    # Every stored photo of a current post is in exactly one group.
    assert query(home, """SELECT count(*) FROM (SELECT DISTINCT sha256 FROM post_images WHERE status = 'ok') AS i
                          ANTI JOIN photo_groups USING (sha256)""") == [(0,)]
    assert query(home, "SELECT count(*) FROM (SELECT sha256 FROM photo_groups GROUP BY sha256 HAVING count(DISTINCT group_id) > 1)") == [(0,)]
    # Every current post has a score row: scores, or nulls with a reason.
    assert query(home, "SELECT count(*) FROM posts ANTI JOIN post_scores USING (post_id)") == [(0,)]
    assert query(home, "SELECT count(*) FROM post_scores WHERE uniqueness IS NULL AND reason IS NULL") == [(0,)]
    (low, high), = query(home, "SELECT min(uniqueness), max(uniqueness) FROM post_scores")
    assert 0 <= low < high == pytest.approx(1.0)
    assert query(home, "SELECT count(*) FROM post_scores WHERE representativeness IS NULL") == [(0,)]


def test_a_photo_that_cannot_be_hashed_is_flagged_and_keeps_its_post(built):
    home, victim = built["home"], built["victim"]
    (status, reason), = query(home, """SELECT h.status, h.reason FROM photo_hashes AS h JOIN post_images AS i USING (sha256)
                                       WHERE i.post_id = ? AND i.position = 1""", [victim])
    assert status == "unhashable" and reason
    assert query(home, "SELECT count(*) FROM post_flags WHERE post_id = ? AND flag = 'photo_unhashable'", [victim]) == [(1,)]
    assert query(home, "SELECT count(*) FROM post_scores WHERE post_id = ? AND uniqueness IS NOT NULL", [victim]) == [(1,)]


def _json(home, *arguments):
    result = runner.invoke(app, [*arguments, "--home", str(home.root), "--json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_commands_print_the_interfaces_later_checks_rely_on(built):
    home = built["home"]
    groups = _json(home, "reposts", "-e", "default")
    assert groups and all(set(g) == {"group_id", "post_ids", "sites", "first_seen", "last_seen"} for g in groups)
    assert all(len(g["post_ids"]) >= 2 and all(":" in p for p in g["post_ids"]) and len(g["first_seen"]) == 10 for g in groups)
    across = _json(home, "reposts", "-e", "default", "--across-sites")
    assert across and all(len(g["sites"]) == 2 for g in across) and len(across) < len(groups)
    assert {p for g in groups for p in g["post_ids"]} == {p for (p,) in query(home, "SELECT post_id FROM repost_groups WHERE encoder = 'default'")}
    flagged = _json(home, "flags")
    assert flagged and all(set(f) == {"post_id", "flags"} and f["flags"] for f in flagged)
    labels = read_labels(built["inbox"])
    phone = {r["post_id"] for r in labels if r["kind"] == "phone_only"}
    assert phone <= {f["post_id"] for f in flagged if "phone_only" in f["flags"]}
    dupes = _json(home, "dupes")
    assert all(set(d) == {"group_id", "sha256s", "post_ids", "stock"} for d in dupes)
    stock = {r["post_id"] for r in labels if r["kind"] == "stock_photo"}
    assert stock <= {p for d in dupes if d["stock"] for p in d["post_ids"]}
    result = runner.invoke(app, ["reposts", "-e", "nope", "--home", str(home.root)])
    assert result.exit_code == 1 and "unknown encoder 'nope'" in result.output


def test_html_galleries_escape_and_carry_the_policy(built, tmp_path):
    home = built["home"]
    for command in ("dupes", "reposts", "flags"):
        page = tmp_path / f"{command}.html"
        result = runner.invoke(app, [command, "--home", str(home.root), "--html", str(page)])
        assert result.exit_code == 0, result.output
        text = page.read_text()
        assert "Content-Security-Policy" in text and "<script" not in text and "data:image/jpeg;base64," in text


def test_search_dedupe_keeps_one_hit_per_repost_group_and_hide_flagged_drops_flagged(built):
    from c2c_assets.quality.encoder_pipeline import repost_group_of
    from c2c_assets.quality.listing import flagged_post_ids
    from c2c_assets.quality.postfilter import search_filtered
    from c2c_assets.search.service import search

    home = built["home"]
    group_of = repost_group_of(home, "default")
    assert group_of
    member = sorted(group_of)[0]
    title, = query(home, "SELECT concat_ws(' ', title, description) FROM posts WHERE post_id = ?", [member])[0]
    plain = search(home, "default", 10, text=title)
    assert Counter(group_of[h.post_id] for h in plain if h.post_id in group_of).most_common(1)[0][1] >= 2  # both copies rank high
    deduped = search_filtered(home, "default", 10, lambda **q: search(home, "default", q.pop("k"), **q), dedupe=True, hide_flagged=False, text=title)
    assert len(deduped) == 10 and max(Counter(group_of[h.post_id] for h in deduped if h.post_id in group_of).values()) == 1
    result = runner.invoke(app, ["search", title, "--home", str(home.root), "--json", "--dedupe", "--hide-flagged"])
    assert result.exit_code == 0, result.output
    hits = json.loads(result.stdout)
    assert hits and not {h["post_id"] for h in hits} & flagged_post_ids(home)
    assert max(Counter(group_of.get(h["post_id"], h["post_id"]) for h in hits).values()) == 1


def test_cluster_report_shows_quality_shares(built):
    page = (built["home"].reports / "default" / "clusters.html").read_text()
    assert page.count('class="reposts"') >= 1 and "stock photos" in page and "flagged" in page
