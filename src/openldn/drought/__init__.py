"""Drought indicators SO3-1 (hazard), SO3-2 (exposure) and SO3-3 (vulnerability)."""

from openldn.drought.spi import SPI_MAX, SPI_MIN, spei, spi

__all__ = ["SPI_MAX", "SPI_MIN", "spei", "spi"]
