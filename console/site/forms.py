"""Forms of the member site."""

from flask_wtf import FlaskForm
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length

from models.applications import MAX_MOTIVATION_LENGTH


class MissionApplicationForm(FlaskForm):
    planet = StringField("Planet", validators=[DataRequired(), Length(max=100)])
    motivation = TextAreaField(
        "Why should we send you?",
        validators=[DataRequired(message="Tell us why you want to go."),
                    Length(max=MAX_MOTIVATION_LENGTH)],
    )

