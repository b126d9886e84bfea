"""The lake and the photo store on object storage (fsspec URLs), through real Dagster runs.

``memory://`` is fsspec's in-process object store (the same code path as ``s3://``: one upload per
file, no rename); ``file://`` is fsspec's own local filesystem, which copies and renames. Nothing
of the lake or the photos may land in the local home: only the per-machine catalog and indexes.
"""

import shutil
import uuid

import dagster as dg
import fsspec
import pyarrow as pa
import pytest

from c2c_assets.defs.analysis.assets import analyse_encoder, cluster_report
from c2c_assets.defs.embeddings.assets import post_embeddings
from c2c_assets.defs.embeddings.checks import vectors_valid
from c2c_assets.defs.ingest.assets import ingest_dumps
from c2c_assets.defs.resources import C2cResource
from c2c_assets.defs.search.assets import faiss_index
from c2c_assets.home import C2cHome
from c2c_assets.lake import AtomicParquetWriter, partition_file
from c2c_assets.search.service import Filters, search
from c2c_assets.storage import is_local, read_table
from c2c_assets.warehouse import connect, query

pytestmark = pytest.mark.slow  # the whole pipeline (ingest, embed, index, analyse) on two storage backends

DAY = "2024-03-01"


@pytest.fixture(params=["memory", "file"])
def remote_home(request, tmp_path):
    if request.param == "memory":
        bucket = f"c2c-test-{uuid.uuid4().hex[:8]}"
        base = f"memory://{bucket}"
    else:
        base = (tmp_path / "bucket").as_uri()
    home = C2cHome(tmp_path / "home", lake_url=f"{base}/lake", images_url=f"{base}/images")
    assert not is_local(home.lake) and not is_local(home.images)
    yield home
    if request.param == "memory" and fsspec.filesystem("memory").exists(f"/{bucket}"):
        fsspec.filesystem("memory").rm(f"/{bucket}", recursive=True)


def _resource(home: C2cHome, **extra) -> C2cResource:
    return C2cResource(home=str(home.root), lake_url=home.lake_url, images_url=home.images_url, **extra)


def _metadata(result, key):
    [event] = [e for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def test_ingest_embed_index_search_and_analyse_on_object_storage(remote_home, tmp_path, examples_inbox, instance):
    home = remote_home
    inbox = tmp_path / "inbox"
    shutil.copytree(examples_inbox, inbox)

    ingested = dg.materialize([ingest_dumps], partition_key=DAY, instance=instance, resources={"c2c": _resource(home, inbox=str(inbox))})
    assert ingested.success
    posts_file = partition_file(home.lake, "posts", {"date": DAY})
    assert posts_file.exists() and str(posts_file).startswith(home.lake_url)
    photos = list(home.images.glob("*/*.jpg"))
    assert photos and all(not p.name.startswith(".") for p in photos)  # no upload temporaries left behind
    assert "data:image/jpeg;base64," in _metadata(ingested, "post_images")["thumbnails"]  # read back from the store
    # The machine's home keeps only its own catalog; the data is in the bucket.
    assert not (home.root / "lake").exists() and not (home.root / "images").exists()
    assert home.warehouse.exists()

    # DuckDB reads the Parquet through the URL: the views count what the bucket holds.
    accepted = read_table(posts_file, columns=["post_id"]).num_rows
    assert accepted == 10 and query(home, "SELECT count(*) FROM posts") == [(accepted,)]
    assert query(home, "SELECT count(*) FROM post_images WHERE status = 'ok'")[0][0] == len({p.stem for p in photos if ".thumb" not in p.name})
    [(view_sql,)] = query(home, "SELECT sql FROM duckdb_views() WHERE view_name = 'posts_all'")
    assert home.lake_url.split("://")[0] + "://" in view_sql
    with connect(home, read_only=True) as outer, connect(home, read_only=True) as inner:  # one DuckDB instance, one registration
        assert outer.sql("SELECT count(*) FROM posts").fetchall() == inner.sql("SELECT count(*) FROM posts").fetchall()

    instance.add_dynamic_partitions("encoders", ["clip-tiny"])
    embedded = dg.materialize(
        [post_embeddings, vectors_valid], partition_key=dg.MultiPartitionKey({"date": DAY, "encoder": "clip-tiny"}),
        instance=instance, resources={"c2c": _resource(home)},
        run_config={"ops": {"post_embeddings": {"config": {"device": "cpu", "batch_size": 4}}}},
    )
    assert embedded.success and all(e.passed for e in embedded.get_asset_check_evaluations())
    assert _metadata(embedded, "post_embeddings")["embedded"] == 10  # every photo was read back from the store
    assert query(home, "SELECT count(*) FROM embeddings WHERE encoder = 'clip-tiny'") == [(10,)]

    assert dg.materialize([faiss_index], partition_key="clip-tiny", instance=instance, resources={"c2c": _resource(home)}).success
    hits = search(home, "clip-tiny", k=3, filters=Filters(), text="alternator")
    assert len(hits) == 3 and all(hit.thumb_path for hit in hits)

    analysed = dg.materialize(
        [analyse_encoder, cluster_report], partition_key="clip-tiny", instance=instance,
        resources={"c2c": _resource(home, inbox=str(inbox))}, run_config={"ops": {"analyse_encoder": {"config": {"k": 3, "width": 8}}}},
    )
    assert analysed.success
    assert partition_file(home.lake, "clusters", {"encoder": "clip-tiny"}).exists()
    assert query(home, "SELECT count(DISTINCT cluster) FROM clusters") == [(3,)]
    assert "data:image/jpeg;base64," in _metadata(analysed, "cluster_report")["preview"]  # thumbnails from the store


def test_an_unfinished_upload_is_never_visible(remote_home):
    home = remote_home
    target = partition_file(home.lake, "posts", {"date": DAY})
    schema = pa.schema([("post_id", pa.string())])
    with AtomicParquetWriter(target, schema) as writer:
        writer.write_rows([{"post_id": "old"}])
    assert read_table(target).column("post_id").to_pylist() == ["old"]

    writer = AtomicParquetWriter(target, schema)
    writer.write_rows([{"post_id": f"new-{i}"} for i in range(1000)])
    writer.close()  # written in full, not yet published
    assert read_table(target).column("post_id").to_pylist() == ["old"]
    assert [p.name for p in target.parent.iterdir()] == ["part-0.parquet"]
    writer.abort()  # a failed run: the old partition stays, and nothing is left behind
    assert read_table(target).column("post_id").to_pylist() == ["old"]
    assert not writer.temporary_path.exists()

    writer = AtomicParquetWriter(target, schema)
    writer.write_rows([{"post_id": "new"}])
    writer.commit()
    assert read_table(target).column("post_id").to_pylist() == ["new"]
    assert [p.name for p in target.parent.iterdir()] == ["part-0.parquet"]


def test_home_reads_the_urls_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("C2C_LAKE_URL", "memory://shared/lake")
    monkeypatch.setenv("C2C_IMAGES_URL", "memory://shared/images")
    home = C2cHome.from_env(tmp_path)
    assert str(home.lake) == "memory://shared/lake" and str(home.stored_image("images/ab/abc.jpg")) == "memory://shared/images/ab/abc.jpg"
    monkeypatch.delenv("C2C_LAKE_URL")
    monkeypatch.delenv("C2C_IMAGES_URL")
    local = C2cHome.from_env(tmp_path)
    assert local.lake == tmp_path.resolve() / "lake" and is_local(local.images)
    with pytest.raises(ValueError, match="not a stored photo path"):
        local.stored_image("../etc/passwd")

