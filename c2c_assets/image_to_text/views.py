"""The image-to-text domain's view: the ensemble's scores per configuration."""

from c2c_assets.image_to_text.schema import EVAL_SCHEMA
from c2c_assets.warehouse import View, lake_table

VIEWS: list[View] = [lake_table("image_to_text_eval", "image_to_text_eval", EVAL_SCHEMA)]
