"""The body of POST /interact: its shape (a JSON object, only known fields, strings as
strings). What the text itself must be is the rule of interactions.services.check_user_input."""

from rest_framework import serializers

from core.serializers import RejectUnknownFieldsMixin, StrictCharField


class UserInputSerializer(RejectUnknownFieldsMixin, serializers.Serializer):
    """The user's request. `user_input` must be a non-empty string; other fields are refused."""

    # Optional in the schema, as in the reference contract; a missing or empty input is
    # refused by interactions.services.check_user_input, which owns that rule.
    user_input = StrictCharField(
        required=False, allow_blank=True, trim_whitespace=False, help_text="What the user asks, in plain words."
    )
    # Checked by interactions.conversations (unknown, another key's, full, expired: 400).
    conversation_id = StrictCharField(
        required=False, allow_blank=True, trim_whitespace=False,
        help_text=(
            "Continue this conversation (the conversation_id of an earlier answer, for the same API key); without it "
            "a new conversation starts. An unknown id, or one of another key, is 400 CONVERSATION_NOT_FOUND; a full "
            "or idle-expired one is 400 CONVERSATION_FULL or CONVERSATION_EXPIRED."
        ),
    )

    class Meta:
        ref_name = "UserInput"
