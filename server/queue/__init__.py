"""Queue and routing (DESIGN §4): pure rules in ``routing``/``states``, DB work in ``service``."""
