"""The ``portal`` console command: migrate, create-admin, scheduler, dead letters, checks.

Every subcommand reads the ini named by ``-c`` (default: $PORTAL_INI, else development.ini)
with the environment applied and builds the same configuration as the web process and the
workers (``portal.make_config``): the same catalogue, actors and broker.
"""

import argparse
import getpass
import logging
import os
import signal
import sys

from alembic import command
from alembic.config import Config

from portal import db as portal_db
from portal import demo, make_config, outbox
from portal import settings as portal_settings
from portal.messaging import runtime
from portal.models.ops import DeadLetter, DeadLetterStatus
from portal.refusal import Refusal
from portal.scheduler import Scheduler
from portal.services import ops
from portal.services.admin_accounts import create_admin
from portal.timefmt import local_time


def _bootstrap(args):
    """The committed configuration of the ini: (catalogue, session factory)."""
    config = make_config(portal_settings.load(args.config))
    config.commit()
    rt = runtime()
    # A stub broker here has no worker: leave messages to the running server's relay.
    rt.fast_path = rt.settings.broker != "stub"
    return config.registry.catalogue, rt.session_factory


def alembic_config(settings):
    config = Config()
    config.set_main_option("script_location", "portal:alembic")
    config.set_main_option("sqlalchemy.url", settings["sqlalchemy.url"].replace("%", "%%"))
    return config


def cmd_migrate(args):
    settings = portal_settings.load(args.config)
    url = settings["sqlalchemy.url"]
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(os.path.abspath(url[len("sqlite:///"):])), exist_ok=True)
    command.upgrade(alembic_config(settings), "head")
    print("database migrated to the latest revision")
    if args.demo:
        catalogue, session_factory = _bootstrap(args)
        with portal_db.Transaction(session_factory) as db:
            lines = demo.load(db, catalogue)
        print("demo data: " + ("; ".join(lines) if lines else "already present"))


def cmd_revision(args):
    command.revision(alembic_config(portal_settings.load(args.config)), message=args.message, autogenerate=True)


def cmd_create_admin(args):
    password = os.environ.get("PORTAL_NEW_ADMIN_PASSWORD")
    if not password:
        password = getpass.getpass("密码：")
        if getpass.getpass("再次输入密码：") != password:
            sys.exit("两次输入的密码不一致")
    catalogue, session_factory = _bootstrap(args)
    try:
        with portal_db.Transaction(session_factory) as db:
            admin = create_admin(
                db, username=args.username, display_name=args.name or args.username, password=password, areas=args.areas,
                known_areas=catalogue.admin_areas,
            )
            username = admin.username
    except Refusal as refusal:
        sys.exit(refusal.message)
    print(f"admin {username} created with areas {', '.join(args.areas)}")


def cmd_scheduler(args):
    catalogue, session_factory = _bootstrap(args)
    scheduler = Scheduler(session_factory, catalogue.jobs.values())
    signal.signal(signal.SIGTERM, lambda *_: scheduler.stop())
    signal.signal(signal.SIGINT, lambda *_: scheduler.stop())
    scheduler.run_forever(tick=catalogue.settings.scheduler_tick)


def cmd_relay(args):
    _bootstrap(args)
    print(f"relayed {outbox.relay()} messages")


def cmd_check(args):
    catalogue, session_factory = _bootstrap(args)
    try:
        with portal_db.Transaction(session_factory) as db:
            check = ops.request_connectivity_check(db, args.system, systems=catalogue.contract_systems, requested_by=args.by)
            check_id = check.id
    except Refusal as refusal:
        sys.exit(refusal.message)
    print(f"connectivity check #{check_id} queued for {args.system}")


def cmd_dead_letters(args):
    _, session_factory = _bootstrap(args)
    with portal_db.Transaction(session_factory) as db:
        if args.action == "list":
            letters = ops.list_dead_letters(db, status=None if args.all else DeadLetterStatus.open)
            if not letters:
                print("no dead letters" if args.all else "no open dead letters")
            for letter in letters:
                print(
                    f"#{letter.id}\t{letter.status.value}\t{local_time(letter.last_failed_at)}\t"
                    f"{letter.actor_name}{tuple(letter.args)}\tattempts={letter.attempts}\t{letter.error}"
                )
            return
        if args.action == "show":
            for letter_id in args.ids:
                letter = db.get(DeadLetter, letter_id)
                if letter is None:
                    sys.exit(f"死信 {letter_id} 不存在")
                print(f"#{letter.id} {letter.actor_name}{tuple(letter.args)} [{letter.status.value}]")
                print(f"outbox #{letter.outbox_id}, message {letter.message_id}, attempts {letter.attempts}")
                print(f"first failed {local_time(letter.first_failed_at)}, last {local_time(letter.last_failed_at)}")
                print(f"error: {letter.error}\n{letter.traceback or ''}")
            return
    action = ops.retry_dead_letter if args.action == "retry" else ops.discard_dead_letter
    for letter_id in args.ids:
        try:
            with portal_db.Transaction(session_factory) as db:
                action(db, letter_id, by=args.by)
        except Refusal as refusal:
            print(refusal.message, file=sys.stderr)
            sys.exit(1)
        print(f"dead letter #{letter_id} {'requeued' if args.action == 'retry' else 'discarded'}")


def build_parser():
    parser = argparse.ArgumentParser(prog="portal", description=__doc__.splitlines()[0])
    parser.add_argument("-c", "--config", default=os.environ.get("PORTAL_INI", "development.ini"), help="ini file")
    commands = parser.add_subparsers(dest="command", required=True)

    migrate = commands.add_parser("migrate", help="upgrade the database to the latest migration")
    migrate.add_argument("--demo", action="store_true", help="also load demo data")
    migrate.set_defaults(func=cmd_migrate)

    revision = commands.add_parser("revision", help="autogenerate a migration from the models (read it before committing)")
    revision.add_argument("-m", "--message", required=True)
    revision.set_defaults(func=cmd_revision)

    create_admin = commands.add_parser(
        "create-admin", help="create an administrator (password from a prompt or PORTAL_NEW_ADMIN_PASSWORD)"
    )
    create_admin.add_argument("username")
    create_admin.add_argument("--name", help="display name")
    create_admin.add_argument("--areas", nargs="+", default=["super"], help="super, or the names of the areas to manage")
    create_admin.set_defaults(func=cmd_create_admin)

    commands.add_parser("scheduler", help="run the periodic jobs (safe to run twice)").set_defaults(func=cmd_scheduler)
    commands.add_parser("relay", help="send undispatched outbox messages once").set_defaults(func=cmd_relay)

    check = commands.add_parser("check", help="queue a connectivity check with another system")
    check.add_argument("system", help="the name of a system speaking our contract (as in its portal.<system>_url)")
    check.add_argument("--by", default=os.environ.get("USER", "console"))
    check.set_defaults(func=cmd_check)

    letters = commands.add_parser("dead-letters", help="list, show, retry or discard dead letters")
    letters.add_argument("action", choices=["list", "show", "retry", "discard"])
    letters.add_argument("ids", nargs="*", type=int)
    letters.add_argument("--all", action="store_true", help="list resolved ones too")
    letters.add_argument("--by", default=os.environ.get("USER", "console"))
    letters.set_defaults(func=cmd_dead_letters)
    return parser


def main(argv=None):
    args = build_parser().parse_args(argv)
    if args.command == "dead-letters" and args.action != "list" and not args.ids:
        sys.exit("请给出死信编号")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    args.func(args)


if __name__ == "__main__":
    main()
