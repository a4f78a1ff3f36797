"""Reading a list query a page at a time: numbered pages (with a total) or by id (keyset)."""

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session


def numbered(db: Session, query: Select, number: int, per_page: int) -> tuple[list, int, int]:
    """(items, total, number) for page ``number`` (clamped to the last page).

    For lists that stay small: counting and OFFSET read every row before the page.
    """
    total = db.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    number = min(number, max(1, -(-total // per_page)))
    return db.scalars(query.limit(per_page).offset((number - 1) * per_page)).all(), total, number


def keyset(
    db: Session, query: Select, id_column: ColumnElement, *, before: int | None, after: int | None, per_page: int
) -> tuple[list, bool, bool]:
    """(items, has_newer, has_older) of the page just below ``before`` or just above ``after``.

    ``query`` is ordered by ``id_column`` descending; nothing is counted or skipped, so a page
    costs the same with a thousand rows as with millions.
    """
    if after is not None:
        # The page just above ``after``: read upwards, shown newest first.
        rows = db.scalars(query.where(id_column > after).order_by(None).order_by(id_column.asc()).limit(per_page + 1)).all()
        if len(rows) >= per_page:
            return rows[:per_page][::-1], len(rows) > per_page, True
        before = None  # less than a page above it: that is the top of the list
    if before is not None:
        query = query.where(id_column < before)
    rows = db.scalars(query.limit(per_page + 1)).all()
    return rows[:per_page], before is not None, len(rows) > per_page
