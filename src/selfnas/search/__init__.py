"""Search strategies on one ask/tell runner."""
