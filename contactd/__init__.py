"""contactd: a self-hostable omnichannel contact centre for public-sector bodies."""

__version__ = "0.1.0"
