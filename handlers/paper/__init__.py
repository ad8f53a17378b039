"""Papers: the written submissions a member drafts in chat over several steps, 社情民意信息 (/info)
and 提案 (/proposal). Both are one dialog, made here from a `Paper` spec: start or resume the
draft, revise a returned paper, title, category (a button or typed), long text parts collected over
several messages, files (photo, PDF, Word; checked by content, handlers.uploads), co-authors found
by part of a name, the summary card, 修改 of one part, submit, cancel.

The draft lives in `context.user_data[paper.key]` (JSON values only) and the dialog is a
persistent ConversationHandler, so a restart in the middle loses nothing. No timeout: a
half-written paper waits as a draft until the member finishes or cancels it.

spec.py: the spec, its states, buttons and draft; asks.py: what each step asks, the card;
steps.py: the steps; here: the dialog made from a spec. What is a paper's own (its card, its
service calls, what it says after submitting) the feature passes in its spec (handlers.info,
handlers.proposals).
"""

from __future__ import annotations

from telegram.ext import CallbackQueryHandler, CommandHandler, MessageHandler, filters

from handlers.common import PRIVATE, TYPED, member_only, menu_button
from handlers.dialog import Dialog, Handlers, dialog
from handlers.paper.asks import prompts, show_mine
from handlers.paper.spec import ATTACH, CATEGORY, CONFIRM, TITLE, Draft, Paper, People, Revision, Texts, Title
from handlers.paper.steps import Steps, file_entry, stored_file

__all__ = [
    "ATTACH",
    "CATEGORY",
    "CONFIRM",
    "TITLE",
    "Draft",
    "Paper",
    "People",
    "Revision",
    "Texts",
    "Title",
    "build_dialog",
    "show_mine",
    "file_entry",
    "stored_file",
]


def build_dialog(paper: Paper, persistent: bool = True) -> Dialog:
    steps = Steps(paper)
    files = PRIVATE & (filters.PHOTO | filters.Document.ALL)
    other_media = PRIVATE & ~filters.TEXT & ~filters.COMMAND & ~filters.StatusUpdate.ALL
    start = member_only(steps.start)

    def text_state() -> Handlers:
        handlers: Handlers = [MessageHandler(TYPED, member_only(steps.text_part))]
        if paper.texts.files_too:
            handlers.append(MessageHandler(files, member_only(steps.attachment)))
        handlers.append(CallbackQueryHandler(member_only(steps.text_done), pattern=paper.texts.done.matches))
        handlers.append(
            CallbackQueryHandler(member_only(steps.text_clear), pattern=paper.texts.clear.matches)
        )
        return handlers

    got_category = member_only(steps.got_category)
    cancel = member_only(steps.cancel)
    return dialog(
        paper.name,
        persistent=persistent,
        prompts=prompts(paper),
        buttons=paper.buttons,
        data_key=paper.key,
        fields=dict(paper.fields),
        entry_points=[
            CommandHandler(paper.name, start, filters=PRIVATE),
            MessageHandler(menu_button(f"menu.{paper.name}"), start),
            CallbackQueryHandler(member_only(steps.revise), pattern=paper.revise_button.matches),
        ],
        states={
            TITLE: [MessageHandler(TYPED, member_only(steps.got_title))],
            CATEGORY: [
                CallbackQueryHandler(got_category, pattern=paper.category_button.matches),
                MessageHandler(TYPED, got_category),
            ],
            **{part: text_state() for part in paper.texts.parts},
            ATTACH: [
                MessageHandler(files, member_only(steps.attachment)),
                CallbackQueryHandler(member_only(steps.attach_done), pattern=paper.attach_done.matches),
                MessageHandler(other_media, member_only(steps.wrong_file)),
            ],
            paper.people.name: [
                MessageHandler(TYPED, member_only(steps.person_search)),
                CallbackQueryHandler(member_only(steps.person_pick), pattern=paper.person_button.matches),
                CallbackQueryHandler(member_only(steps.people_done), pattern=paper.people_done.matches),
            ],
            CONFIRM: [
                CallbackQueryHandler(member_only(steps.submit), pattern=paper.submit_button.matches),
                CallbackQueryHandler(member_only(steps.edit_menu), pattern=paper.edit_button.matches),
                CallbackQueryHandler(member_only(steps.edit_part), pattern=paper.edit_part_button.matches),
            ],
        },
        fallbacks=[
            CommandHandler("cancel", cancel, filters=PRIVATE),
            CallbackQueryHandler(cancel, pattern=paper.cancel_button.matches),
        ],
    )
