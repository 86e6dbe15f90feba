"""Forms as data (issue 11 item 4): the definitions per service (``definitions/<service>.json``) and their loader."""
