package simulator

// Pools of names, streets, cities and companies the generator draws from.
// They are small on purpose: collisions (two different John Smiths) are part
// of what deduplication must get right.

var maleFirst = []string{
	"James", "Robert", "John", "Michael", "David", "William", "Richard", "Joseph", "Thomas", "Christopher",
	"Charles", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Andrew", "Paul", "Joshua",
	"Kenneth", "Kevin", "Brian", "George", "Timothy", "Ronald", "Jason", "Edward", "Jeffrey", "Ryan",
	"Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen", "Larry", "Justin", "Scott", "Brandon",
	"Benjamin", "Samuel", "Gregory", "Alexander", "Patrick", "Frank", "Raymond", "Jack", "Dennis", "Jerry",
	"Tyler", "Aaron", "Jose", "Adam", "Nathan", "Henry", "Zachary", "Douglas", "Peter", "Kyle",
	"Noah", "Ethan", "Jeremy", "Walter", "Christian", "Keith", "Roger", "Terry", "Austin", "Sean",
	"Gabriel", "Luc", "Marc-Andre", "Mathieu", "Olivier", "Francois", "Jean-Philippe", "Sebastien", "Connor", "Liam",
}

var femaleFirst = []string{
	"Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica", "Sarah", "Karen",
	"Lisa", "Nancy", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly", "Emily", "Donna", "Michelle",
	"Carol", "Amanda", "Dorothy", "Melissa", "Deborah", "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia",
	"Kathleen", "Amy", "Angela", "Shirley", "Anna", "Brenda", "Pamela", "Emma", "Nicole", "Helen",
	"Samantha", "Katherine", "Christine", "Debra", "Rachel", "Carolyn", "Janet", "Catherine", "Maria", "Heather",
	"Diane", "Ruth", "Julie", "Olivia", "Joyce", "Virginia", "Victoria", "Kelly", "Lauren", "Christina",
	"Genevieve", "Isabelle", "Chloe", "Marie-Eve", "Josee", "Nathalie", "Sophie", "Madison", "Abigail", "Megan",
}

var lastNames = []string{
	"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Rodriguez", "Martinez",
	"Hernandez", "Lopez", "Gonzalez", "Wilson", "Anderson", "Thomas", "Taylor", "Moore", "Jackson", "Martin",
	"Lee", "Perez", "Thompson", "White", "Harris", "Sanchez", "Clark", "Ramirez", "Lewis", "Robinson",
	"Walker", "Young", "Allen", "King", "Wright", "Scott", "Torres", "Nguyen", "Hill", "Flores",
	"Green", "Adams", "Nelson", "Baker", "Hall", "Rivera", "Campbell", "Mitchell", "Carter", "Roberts",
	"Gomez", "Phillips", "Evans", "Turner", "Diaz", "Parker", "Cruz", "Edwards", "Collins", "Reyes",
	"Stewart", "Morris", "Morales", "Murphy", "Cook", "Rogers", "Gutierrez", "Ortiz", "Morgan", "Cooper",
	"Peterson", "Bailey", "Reed", "Kelly", "Howard", "Ramos", "Kim", "Cox", "Ward", "Richardson",
	"Watson", "Brooks", "Chavez", "Wood", "James", "Bennett", "Gray", "Mendoza", "Ruiz", "Hughes",
	"Price", "Alvarez", "Castillo", "Sanders", "Patel", "Myers", "Long", "Ross", "Foster", "Jimenez",
	"Tremblay", "Gagnon", "Roy", "Cote", "Bouchard", "Gauthier", "Morin", "Lavoie", "Fortin", "Gagne",
	"Ouellet", "Pelletier", "Belanger", "Levesque", "Bergeron", "Leblanc", "Paquette", "Girard", "Simard", "Boucher",
	"O'Brien", "O'Connor", "McDonald", "MacLeod", "Van Der Berg", "De La Cruz", "St. Pierre", "Kowalski", "Nowak", "Schmidt",
	"Sullivan", "Fitzgerald", "Donovan", "Brennan", "Kowalczyk", "Johansson", "Lindqvist", "Novak", "Horvat", "Karlsson",
}

// nicknames maps a formal first name to the short forms box offices type.
var nicknames = map[string][]string{
	"Robert": {"Bob", "Rob", "Bobby"}, "William": {"Bill", "Will", "Billy"}, "Richard": {"Rick", "Dick", "Rich"},
	"James": {"Jim", "Jimmy"}, "John": {"Jack", "Johnny"}, "Michael": {"Mike", "Mikey"}, "Joseph": {"Joe", "Joey"},
	"Thomas": {"Tom", "Tommy"}, "Christopher": {"Chris"}, "Charles": {"Charlie", "Chuck"}, "Daniel": {"Dan", "Danny"},
	"Matthew": {"Matt"}, "Anthony": {"Tony"}, "Steven": {"Steve"}, "Andrew": {"Andy", "Drew"}, "Joshua": {"Josh"},
	"Kenneth": {"Ken", "Kenny"}, "Timothy": {"Tim"}, "Ronald": {"Ron", "Ronnie"}, "Edward": {"Ed", "Eddie", "Ted"},
	"Jeffrey": {"Jeff"}, "Nicholas": {"Nick"}, "Jonathan": {"Jon"}, "Stephen": {"Steve"}, "Benjamin": {"Ben"},
	"Samuel": {"Sam"}, "Gregory": {"Greg"}, "Alexander": {"Alex"}, "Patrick": {"Pat"}, "Raymond": {"Ray"},
	"Zachary": {"Zach"}, "Douglas": {"Doug"}, "Peter": {"Pete"}, "Gabriel": {"Gabe"}, "Francois": {"Frank"},
	"Elizabeth": {"Liz", "Beth", "Betsy"}, "Patricia": {"Pat", "Patty", "Trish"}, "Jennifer": {"Jen", "Jenny"},
	"Margaret": {"Maggie", "Peggy"}, "Susan": {"Sue"}, "Jessica": {"Jess"}, "Kimberly": {"Kim"}, "Deborah": {"Deb", "Debbie"},
	"Rebecca": {"Becky"}, "Katherine": {"Kate", "Katie", "Kathy"}, "Christine": {"Chris"}, "Samantha": {"Sam"},
	"Catherine": {"Cathy", "Kate"}, "Victoria": {"Vicky", "Tori"}, "Christina": {"Tina"}, "Pamela": {"Pam"},
	"Abigail": {"Abby"}, "Amanda": {"Mandy"}, "Cynthia": {"Cindy"}, "Dorothy": {"Dot"}, "Kathleen": {"Kathy"},
}

var streetNames = []string{
	"Main", "Oak", "Maple", "Cedar", "Elm", "Pine", "Washington", "Lake", "Hill", "Park",
	"Walnut", "Church", "Highland", "Ridge", "Mill", "Spring", "Union", "Water", "Franklin", "Center",
	"Jefferson", "Lincoln", "Madison", "Chestnut", "Prospect", "Forest", "Harbor", "River", "Bay", "Summit",
	"Meadow", "Orchard", "Sunset", "Willow", "Birch", "Cherry", "Dogwood", "Hickory", "Laurel", "Magnolia",
	"Adams", "Monroe", "Jackson", "Grant", "Liberty", "Commerce", "Market", "Front", "Bridge", "Canal",
}

// streetTypes pairs each suffix with its spellings: a person's address is
// typed differently in different accounts ("Street", "St", "St.").
var streetTypes = [][]string{
	{"Street", "St", "St."}, {"Avenue", "Ave", "Ave."}, {"Road", "Rd", "Rd."}, {"Drive", "Dr", "Dr."},
	{"Lane", "Ln"}, {"Court", "Ct"}, {"Boulevard", "Blvd"}, {"Place", "Pl"}, {"Way"}, {"Terrace", "Ter"},
}

type cityInfo struct {
	city, state, zip3 string
}

// cities: mostly the home metro (a Northeastern team), some out of state.
var cities = []cityInfo{
	{"Harbor City", "MA", "021"}, {"Harbor City", "MA", "021"}, {"Harbor City", "MA", "021"}, {"Quincy", "MA", "021"},
	{"Cambridge", "MA", "021"}, {"Somerville", "MA", "021"}, {"Newton", "MA", "024"}, {"Brookline", "MA", "024"},
	{"Waltham", "MA", "024"}, {"Framingham", "MA", "017"}, {"Worcester", "MA", "016"}, {"Lowell", "MA", "018"},
	{"Salem", "MA", "019"}, {"Lynn", "MA", "019"}, {"Braintree", "MA", "021"}, {"Weymouth", "MA", "021"},
	{"Providence", "RI", "029"}, {"Warwick", "RI", "028"}, {"Nashua", "NH", "030"}, {"Manchester", "NH", "031"},
	{"Portsmouth", "NH", "038"}, {"Hartford", "CT", "061"}, {"Stamford", "CT", "069"}, {"Portland", "ME", "041"},
	{"Burlington", "VT", "054"}, {"Albany", "NY", "122"}, {"New York", "NY", "100"}, {"Montreal", "QC", "H2X"},
}

var states = []string{"MA", "RI", "NH", "CT", "ME", "VT", "NY"}

type companyInfo struct {
	name, domain string
}

var companies = []companyInfo{
	{"Sporting Service Solutions Inc", "sportingservicesolutions.com"}, {"TryNowDo Ltd", "trynowdo.com"},
	{"Harbor Freight Logistics", "harborfreightlog.com"}, {"Bayside Insurance Group", "baysideins.com"},
	{"Northeast Medical Partners", "nemedpartners.org"}, {"Granite State Builders", "granitestatebuilders.com"},
	{"Atlantic Data Systems", "atlanticdata.io"}, {"Commonwealth Legal LLP", "commonwealthlegal.com"},
	{"Pilgrim Financial Advisors", "pilgrimfa.com"}, {"Charles River Biotech", "crbiotech.com"},
	{"Beacon Hill Realty", "beaconhillrealty.com"}, {"Cape Ann Seafood Co", "capeannseafood.com"},
	{"Minuteman Software", "minutemansw.com"}, {"Back Bay Dental", "backbaydental.com"},
	{"Patriot Plumbing & Heating", "patriotph.com"}, {"Seaport Ventures", "seaportvc.com"},
	{"Liberty Mutual Brokers", "libertybrokers.net"}, {"Quincy Quarry Stone", "quincyquarry.com"},
	{"Fenway Food Services", "fenwayfood.com"}, {"Harbor City Public Schools", "hcps.k12.ma.us"},
	{"North Shore Auto Group", "northshoreauto.com"}, {"South Shore Bank", "southshorebank.com"},
	{"Emerald Necklace Landscaping", "emeraldlandscaping.com"}, {"Merrimack Valley Energy", "mvenergy.com"},
	{"Blue Hills Engineering", "bluehillseng.com"}, {"Commonwealth Health", "cwhealth.org"},
	{"Tremont Street Capital", "tremontcap.com"}, {"Acme Widgets Corp", "acmewidgets.com"},
	{"Lexington Consulting Group", "lexcg.com"}, {"Old Colony Title", "oldcolonytitle.com"},
	{"Waterfront Hospitality", "waterfronthosp.com"}, {"Bay State Electric", "baystateelectric.com"},
	{"Revere Beach Events", "reverebeachevents.com"}, {"Salem Witch Tours", "salemtours.com"},
	{"Greater Boston Printing", "gbprinting.com"}, {"Nantucket Sound Media", "nsmedia.com"},
	{"Kendall Square Robotics", "ksrobotics.ai"}, {"Longwood Clinical Labs", "longwoodlabs.com"},
	{"Berkshire Hills Insurance", "berkshirehillsins.com"}, {"Dorchester Construction", "dorchesterconst.com"},
}

var personalDomains = []string{
	"gmail.com", "gmail.com", "gmail.com", "yahoo.com", "hotmail.com", "outlook.com", "aol.com",
	"comcast.net", "verizon.net", "icloud.com", "msn.com", "me.com",
}

var opponents = []string{
	"Boston", "Toronto", "Montreal", "Ottawa", "Buffalo", "Detroit", "Tampa Bay", "Florida",
	"NY Rangers", "NY Islanders", "New Jersey", "Philadelphia", "Pittsburgh", "Washington", "Carolina", "Columbus",
	"Chicago", "St. Louis", "Nashville", "Dallas", "Colorado", "Minnesota", "Winnipeg", "Utah",
	"Vegas", "Los Angeles", "Anaheim", "San Jose", "Seattle", "Vancouver", "Calgary", "Edmonton",
}

var concertActs = []string{
	"The Lumineers", "Imagine Dragons", "Billy Strings", "Zach Bryan", "Olivia Rodrigo", "Foo Fighters",
	"Dropkick Murphys", "Luke Combs", "SZA", "Pearl Jam", "Morgan Wallen", "Coldplay", "Kenny Chesney",
	"Green Day", "Post Malone", "Bruce Springsteen", "Lizzo", "Chris Stapleton", "Tyler Childers", "Noah Kahan",
	"Metallica", "Dead & Company", "Jack White", "Boston Symphony Pops", "Trans-Siberian Orchestra",
}

var concertGenres = []string{"ROCK/POP", "COUNTRY", "R&B/HIP-HOP", "ALTERNATIVE", "CLASSICAL"}

var familyShows = []string{
	"Disney On Ice", "Monster Jam", "Harlem Globetrotters", "Sesame Street Live", "PAW Patrol Live",
	"Cirque du Soleil", "Marvel Universe Live", "WWE Monday Night", "Bluey's Big Play", "Stars on Ice",
}

var gatesHockey = []string{"NORTH 1", "NORTH 2", "SOUTH 1", "SOUTH 2", "EAST", "WEST", "CLUB"}
var gatesArena = []string{"MAIN 1", "MAIN 2", "MAIN 3", "BOX OFFICE", "FLOOR", "WEST"}
