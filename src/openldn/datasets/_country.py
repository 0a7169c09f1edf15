"""Placeholder, replaced below."""

COUNTRY_RESOLUTION = 0.0025


def make_synthetic_country(*args, **kwargs):  # type: ignore[no-untyped-def]
    raise NotImplementedError
