"""Arrears detector: the per-loan ledger and rules of domain.md §2-3.

Pure core (no Kafka, Faust, database or clock): ``ledger.apply`` (entry point),
``deadlines.next_deadline`` (the shell's tick index), ``snapshot`` (table values),
``events``/``signals`` (data in and out), ``policy`` (configurable values), ``rules``
(day close), ``payments``/``schedule`` (event handlers), ``allocation`` (money moves),
``calendar`` (TARGET2), ``conservation`` (money identity). Decisions:
docs/decisions/0101-detector-rules.md. The Faust shell is ``app`` and ``shell_*``.
"""
