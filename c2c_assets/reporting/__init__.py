"""Pages and Markdown people look at: the cluster report, the encoder comparison (and the width
sweep), the PNG map, the explorer's entry page (c2c_assets.explorer) and the search gallery.

Plain data in, files (or Markdown strings for Dagster metadata) out; no Dagster here. Every page
is a jinja2 template under ``templates/`` extending ``base.html.j2`` (one Content-Security-Policy
for all), rendered with autoescape on and written atomically; see :mod:`c2c_assets.reporting.render`.
Import the writers from their modules (``c2c_assets.reporting.cluster_report`` ...): this package
stays light so importing one page does not load matplotlib or the search stack.
"""
