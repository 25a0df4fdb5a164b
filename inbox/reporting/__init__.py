"""Reports: the facts written per event (:mod:`facts`) and the figures read from them
(:mod:`figures`). docs/reports.md says what each figure means."""
