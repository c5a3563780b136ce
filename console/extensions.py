"""Extension objects, created unbound and bound to an app in create_app()."""

from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_mailman import Mail
from flask_migrate import Migrate
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address)
migrate = Migrate(render_as_batch=True, compare_type=True)
mail = Mail()  # bound by console.mail.init_mail(), which picks SMTP or the .eml files
