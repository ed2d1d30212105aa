package dedup

import "sync"

// nicknameGroups: a formal English first name and the short forms it is
// commonly typed as. Jaro-Winkler cannot see that "Bob" is "Robert" or
// "Peggy" is "Margaret"; box offices type nicknames (the simulator's
// duplicates and the CRM's "fuzzy" contacts do), so the first-name
// comparison knows these. Two names agree when one group holds both: a
// formal name and its nickname, or two nicknames of one name ("Bob",
// "Rob"); two formal names that share a nickname ("Christopher",
// "Christine") do not.
var nicknameGroups = map[string][]string{
	"robert": {"bob", "rob", "bobby", "robbie", "bert"}, "william": {"bill", "will", "billy", "willie", "liam"},
	"richard": {"rick", "dick", "rich", "ricky", "richie"}, "james": {"jim", "jimmy", "jamie"},
	"john": {"jack", "johnny", "jon"}, "michael": {"mike", "mikey", "mick", "mickey"}, "joseph": {"joe", "joey", "jo"},
	"thomas": {"tom", "tommy"}, "christopher": {"chris", "kit", "topher"}, "charles": {"charlie", "chuck", "chas"},
	"daniel": {"dan", "danny"}, "matthew": {"matt", "matty"}, "anthony": {"tony"}, "steven": {"steve", "stevie"},
	"stephen": {"steve", "stevie"}, "andrew": {"andy", "drew"}, "joshua": {"josh"}, "kenneth": {"ken", "kenny"},
	"timothy": {"tim", "timmy"}, "ronald": {"ron", "ronnie"}, "edward": {"ed", "eddie", "ted", "ned"},
	"jeffrey": {"jeff"}, "geoffrey": {"geoff", "jeff"}, "nicholas": {"nick", "nicky"}, "jonathan": {"jon", "jonny"},
	"benjamin": {"ben", "benny"}, "samuel": {"sam", "sammy"}, "gregory": {"greg"}, "alexander": {"alex", "al", "xander"},
	"patrick": {"pat", "paddy"}, "raymond": {"ray"}, "zachary": {"zach", "zack"}, "douglas": {"doug"},
	"peter": {"pete"}, "gabriel": {"gabe"}, "francois": {"frank"}, "francis": {"frank", "fran"}, "frank": {"frankie"},
	"frederick": {"fred", "freddie"}, "henry": {"hank", "harry"}, "harold": {"harry", "hal"}, "lawrence": {"larry"},
	"leonard": {"leo", "len", "lenny"}, "louis": {"lou"}, "albert": {"al", "bert"}, "alfred": {"al", "alf", "fred"},
	"donald": {"don", "donny"}, "gerald": {"gerry", "jerry"}, "jerome": {"jerry"}, "eugene": {"gene"},
	"philip": {"phil"}, "phillip": {"phil"}, "vincent": {"vince", "vinny"}, "walter": {"walt", "wally"},
	"nathan": {"nate"}, "nathaniel": {"nate", "nat"}, "jacob": {"jake"}, "theodore": {"ted", "teddy", "theo"},
	"elizabeth": {"liz", "beth", "betsy", "lizzie", "betty", "eliza"}, "patricia": {"pat", "patty", "trish", "tricia"},
	"jennifer": {"jen", "jenny", "jenn"}, "margaret": {"maggie", "peggy", "meg", "marge", "margie"}, "susan": {"sue", "susie"},
	"jessica": {"jess", "jessie"}, "kimberly": {"kim"}, "deborah": {"deb", "debbie"}, "debra": {"deb", "debbie"},
	"rebecca": {"becky", "becca"}, "katherine": {"kate", "katie", "kathy", "kat"}, "kathryn": {"kate", "katie", "kathy"},
	"christine": {"chris", "chrissy"}, "samantha": {"sam", "sammy"}, "catherine": {"cathy", "kate", "cat"},
	"victoria": {"vicky", "tori"}, "christina": {"tina", "chris"}, "pamela": {"pam"}, "abigail": {"abby"},
	"amanda": {"mandy"}, "cynthia": {"cindy"}, "dorothy": {"dot", "dottie"}, "kathleen": {"kathy", "kate"},
	"barbara": {"barb", "barbie"}, "judith": {"judy"}, "sandra": {"sandy"}, "alexandra": {"alex", "sandra"},
	"jacqueline": {"jackie"}, "theresa": {"terry", "tess"}, "teresa": {"terry", "tess"}, "valerie": {"val"},
	"melissa": {"mel", "missy"}, "melanie": {"mel"}, "stephanie": {"steph"}, "suzanne": {"sue", "suzy"},
	"carolyn": {"carol", "carrie"}, "caroline": {"carrie"}, "josephine": {"jo", "josie"}, "nancy": {"nan"},
	"virginia": {"ginny"}, "frances": {"fran", "frannie"}, "lillian": {"lily"}, "angela": {"angie"},
	"gwendolyn": {"gwen"}, "madeline": {"maddie"}, "allison": {"ally", "allie"}, "evelyn": {"evie"},
}

var (
	nickOnce  sync.Once
	nickIndex map[string][]int32 // name -> groups it belongs to
)

func nicknameOf(a, b string) bool {
	nickOnce.Do(func() {
		nickIndex = map[string][]int32{}
		var g int32
		for formal, nicks := range nicknameGroups {
			nickIndex[formal] = append(nickIndex[formal], g)
			for _, n := range nicks {
				nickIndex[n] = append(nickIndex[n], g)
			}
			g++
		}
	})
	ga, gb := nickIndex[a], nickIndex[b]
	for _, x := range ga {
		for _, y := range gb {
			if x == y {
				return true
			}
		}
	}
	return false
}
