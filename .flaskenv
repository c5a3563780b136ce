FLASK_APP=console
