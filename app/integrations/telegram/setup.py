"""The Telegram channel's setup form: which chat (and topic) the bot writes to."""

from app.integrations.setup import INT, INT_OR_TEXT, Field, SetupForm

FORM = SetupForm(
    fields=(
        Field(
            "chat_id",
            "Chat ID",
            kind=INT_OR_TEXT,
            help="The numeric chat id (groups are negative), or a public @channelname.",
        ),
        Field(
            "thread_id",
            "Topic ID",
            kind=INT,
            optional=True,
            help="For a group with topics: the topic's numeric id. Leave empty otherwise.",
        ),
    ),
    identity="chat_id",
    summary="Message a Telegram chat, group or channel through our bot.",
)
