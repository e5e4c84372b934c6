"""The pilot report: intention-to-treat arrears rates, censoring-aware incidence and SRM.

``records`` turns outcome events into one row per client, ``build`` computes the report with
``statistics`` (pure), ``render`` and ``html`` write it out, ``sources`` reads the outcome topic
or the intervention database, and ``cli`` is ``nazorg report``.
"""
