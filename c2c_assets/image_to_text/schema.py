"""The evaluation table's schema (light: the warehouse imports it to type the empty view)."""

import pyarrow as pa

EVAL_SCHEMA = pa.schema(
    [
        ("configuration", pa.string()),  # offline | paper
        ("model", pa.string()),  # model_a | model_b | ensemble | baseline
        ("mean_cosine", pa.float64()),  # to the true text embedding, over the test split's pairs
        ("description", pa.string()),
        ("alpha", pa.float64()),  # the ensemble weight chosen on validation
        ("test_pairs", pa.int64()),
    ]
)
