"""Quantities: integer kilograms everywhere, shown to people in tonnes (吨)."""


def tonnes(kg: int) -> str:
    """``25000`` → ``25 吨``, ``24960`` → ``24.96 吨``: exact, at most three decimals (a kilogram)."""
    sign = "-" if kg < 0 else ""
    whole, rest = divmod(abs(kg), 1000)
    text = f"{whole}.{rest:03d}".rstrip("0").rstrip(".")
    return f"{sign}{text} 吨"
