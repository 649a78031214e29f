"""Vocabulary the generators draw from: names, cities, merchant and campaign wording."""

from __future__ import annotations

from dataclasses import dataclass

FIRST_NAMES = (
    "Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella", "James",
    "Mia", "William", "Amelia", "Benjamin", "Harper", "Lucas", "Evelyn", "Henry", "Abigail", "Alexander",
    "Emily", "Daniel", "Ella", "Michael", "Elizabeth", "Mateo", "Camila", "Sebastian", "Luna", "Jack",
    "Sofia", "Owen", "Avery", "Samuel", "Mila", "Wyatt", "Aria", "Leo", "Scarlett", "Jayden",
    "Penelope", "Gabriel", "Layla", "Carter", "Chloe", "Julian", "Victoria", "Isaac", "Madison", "Ezra",
    "Priya", "Arjun", "Mei", "Wei", "Yuki", "Hiroshi", "Fatima", "Omar", "Aisha", "Diego",
    "Valentina", "Santiago", "Lucia", "Nia", "Malik", "Zoe", "Ethan", "Grace", "Hannah", "Ryan",
)  # fmt: skip

LAST_NAMES = (
    "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
    "Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
    "Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
    "Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
    "Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
    "Patel", "Shah", "Kim", "Chen", "Wang", "Tanaka", "Okafor", "Haddad", "Cohen", "Novak",
    "Murphy", "Kelly", "Brooks", "Price", "Reyes", "Cruz", "Ortiz", "Gupta", "Singh", "Park",
)  # fmt: skip


@dataclass(frozen=True)
class City:
    name: str
    state: str
    latitude: float
    longitude: float
    area_code: str
    zip_prefix: str
    streets: tuple[str, ...]
    weight: float


# Real city-centre coordinates; merchants are scattered within ~15 km of them.
CITIES = (
    City("New York", "NY", 40.7128, -74.0060, "212", "100",
         ("Broadway", "5th Ave", "Lexington Ave", "Madison Ave", "Bleecker St", "Canal St", "Amsterdam Ave",
          "Houston St", "Park Ave", "Bedford Ave"), 0.30),
    City("San Francisco", "CA", 37.7749, -122.4194, "415", "941",
         ("Market St", "Mission St", "Valencia St", "Haight St", "Castro St", "Fillmore St", "Geary Blvd",
          "Irving St", "Columbus Ave", "Divisadero St"), 0.18),
    City("Chicago", "IL", 41.8781, -87.6298, "312", "606",
         ("Michigan Ave", "State St", "Clark St", "Halsted St", "Milwaukee Ave", "Wells St", "Division St",
          "Armitage Ave", "Randolph St", "Damen Ave"), 0.20),
    City("Austin", "TX", 30.2672, -97.7431, "512", "787",
         ("Congress Ave", "South Lamar Blvd", "6th St", "Guadalupe St", "Burnet Rd", "Rainey St",
          "East Cesar Chavez St", "Manor Rd", "Red River St", "Barton Springs Rd"), 0.14),
    City("Seattle", "WA", 47.6062, -122.3321, "206", "981",
         ("Pike St", "Pine St", "1st Ave", "Broadway E", "Ballard Ave NW", "Fremont Ave N", "Rainier Ave S",
          "University Way NE", "Queen Anne Ave N", "Alki Ave SW"), 0.18),
)  # fmt: skip

# By reference merchant category (migration 0003): (name prefixes, name nouns, transaction category,
# typical amount in dollars, weight among merchants).
MERCHANT_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str, float, float]] = {
    "Restaurants & Cafes": (
        ("Golden", "Little", "Blue Door", "Corner", "Harbor", "Olive", "Copper", "Saffron", "Maple", "Urban"),
        ("Bistro", "Cafe", "Kitchen", "Taqueria", "Noodle Bar", "Coffee Roasters", "Pizzeria", "Diner",
         "Grill"),
        "dining", 28.0, 0.30,
    ),
    "Retail & Shopping": (
        ("North", "Modern", "Thread &", "Urban", "Vintage", "Bright", "Luxe", "Simple", "Good", "Studio"),
        ("Outfitters", "Boutique", "Supply Co.", "Goods", "Apparel", "Home Store", "Shoes", "Electronics"),
        "shopping", 65.0, 0.20,
    ),
    "Grocery & Food": (
        ("Fresh", "Green", "Daily", "Farmhouse", "Neighborhood", "Market", "Sunrise", "Harvest"),
        ("Market", "Grocers", "Foods", "Pantry", "Co-op", "Bakery", "Butcher"),
        "groceries", 55.0, 0.12,
    ),
    "Gas Stations": (
        ("Quick", "Metro", "Express", "Liberty", "Highway", "Star"),
        ("Fuel", "Gas", "Gas & Go", "Service Station"),
        "fuel", 45.0, 0.08,
    ),
    "Hotels & Travel": (
        ("Grand", "Harborview", "Park", "Skyline", "Riverside", "The"),
        ("Hotel", "Inn", "Suites", "Travel", "Lodge"),
        "travel", 240.0, 0.05,
    ),
    "Entertainment": (
        ("Starlight", "Arcade", "Velvet", "Echo", "Paramount", "Lucky"),
        ("Cinema", "Lanes", "Theater", "Comedy Club", "Escape Room", "Music Hall"),
        "entertainment", 42.0, 0.08,
    ),
    "Health & Wellness": (
        ("Zen", "Vital", "Pure", "Core", "Balance", "Bloom"),
        ("Yoga", "Fitness", "Pharmacy", "Spa", "Wellness", "Dental"),
        "health", 60.0, 0.09,
    ),
    "Services": (
        ("Precision", "Sparkle", "Handy", "Prime", "City", "Swift"),
        ("Cleaners", "Auto Care", "Barbers", "Repairs", "Laundry", "Salon"),
        "services", 48.0, 0.08,
    ),
}  # fmt: skip

INSTITUTIONS = {
    "checking": ("Chase", "Bank of America", "Wells Fargo", "Citibank", "US Bank", "PNC Bank"),
    "savings": ("Ally Bank", "Marcus by Goldman Sachs", "Capital One", "Discover Bank"),
    "credit_card": ("Chase", "American Express", "Capital One", "Citi", "Discover", "Bank of America"),
    "debit_card": ("Chase", "Wells Fargo", "Bank of America", "Chime", "US Bank"),
    "wallet": ("PayPal", "Venmo", "Apple Cash", "Cash App"),
}

CAMPAIGN_THEMES = (
    "Spring", "Summer", "Back to School", "Fall", "Holiday", "New Year", "Weekend", "Flash", "Loyalty",
    "Welcome", "Win-back", "Birthday", "Game Day", "Late Night", "Lunch Hour", "Family", "Payday",
)  # fmt: skip
CAMPAIGN_SUBJECTS = (
    "Coffee", "Dining", "Grocery", "Fuel", "Travel", "Fitness", "Cinema", "Fashion", "Brunch", "Pizza",
    "Wellness", "Electronics", "Home", "Pet", "Beauty",
)  # fmt: skip
CAMPAIGN_OFFERS = {
    "location_deal": ("Nearby Deal", "Geo Offer", "Walk-in Special"),
    "email_offer": ("Email Offer", "Newsletter Exclusive", "Inbox Deal"),
    "push_notification": ("Push Alert", "App Flash Sale", "Tap to Save"),
    "cashback": ("Cashback", "Cashback Boost", "Double Points"),
}
TARGET_SEGMENTS = ("all_users", "new_users", "loyal_customers", "high_value", "at_risk", "gold_and_above")
SEGMENTS = ("new_users", "loyal_customers", "high_value", "at_risk")

EXPERIMENT_AREAS = ("checkout", "onboarding", "offer-card", "push", "email", "rewards", "search", "home")
EXPERIMENT_IDEAS = (
    ("button-color", "Button colour", "A high-contrast call to action gets more taps."),
    ("copy-urgency", "Urgency copy", "Stating the offer's deadline raises redemption."),
    ("layout-compact", "Compact layout", "Showing more offers above the fold raises engagement."),
    ("send-time", "Send time", "Sending at each user's optimal hour raises conversion."),
    ("reward-preview", "Reward preview", "Showing points to be earned before paying raises spend."),
    ("social-proof", "Social proof", "Showing how many neighbours used an offer raises redemption."),
    ("personalized-ranking", "Personalised ranking", "Ranking offers by affinity raises conversion."),
)
