"""Pure rules of the GoCRM gateway: standard library only, synchronous, time passed in."""
