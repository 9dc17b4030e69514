/**
 * The vocabulary level 3 treats as carrying no fact of its own: function words, the commonest
 * verbs, adverbs and adjectives, and the words of small talk ("awesome", "thanks", "super").
 * A sentence made only of these is filler; the rest of a sentence's words are scored by how rare
 * they are in the span (see Extract.ts).
 *
 * @internal
 */
export const COMMON_WORDS: ReadonlySet<string> = new Set(
  `a about above across actually after again against agree agreed ago ah all almost along already also although always am
  amazing among an and another any anybody anyone anything anyway anyways anywhere are aren't around as ask asked
  asking at aw away awesome awww back bad be beautiful became because become been before being believe best
  better between big bit both but by came can can't cannot care certainly chance change changed come comes coming
  congrats congratulations cool could couldn't day days definitely did didn't different do does doesn't doing
  don't done down during each easy either else enjoy enjoyed enough especially even ever every everyone
  everything exactly excited exciting fantastic far feel feeling feelings feels felt few find fine first for
  found from fun funny gave get gets getting give given gives glad go goes going gone good got gotta great guess
  had hadn't happen happened happy hard has hasn't have haven't having he he's hear heard hello help helped
  helps her here here's hers herself hey hi him himself his hmm honestly hope hopefully how however i i'd i'll
  i'm i've idea if important in incredible indeed inspiring instead into is isn't it it's its itself just keep
  kind kinda know known last least less let let's life like liked likes little lol long look looked looking
  looks lot lots love loved lovely loves made make makes making many maybe me mean means meant might mind mine
  more most much must my myself need needed needs never new next nice no nobody none nor not nothing now of
  off oh ok okay old on once one only or other others our ours ourselves out over own part people perfect
  person pretty probably put quite rather re really right said same saw say says see seeing seem seemed seems
  seen she she's should shouldn't show since so some somebody someone something sometimes soon sorry sound
  sounds special still stuff such super sure take taken takes taking talk talked talking tell than thank
  thanks that that's the their theirs them themselves then there there's these they they'd they'll they're
  they've thing things think thinking thought through time times to today together told too took totally
  tough tried tries truly try trying two um under until up upon us use used very want wanted wants was wasn't
  way ways we we'd we'll we're we've well went were weren't what what's whatever when where whether which
  while who who's whole whom whose why will with within without won't wonderful work worked working would
  wouldn't wow yeah yes yet you you'd you'll you're you've your yours yourself yourselves yup`.split(/\s+/)
)

/**
 * Words of feeling and abstraction that small talk is made of ("journey", "grateful", "vibe"):
 * rarely the answer to anything, so they count for little even when rare in a span.
 */
export const VAGUE_WORDS: ReadonlySet<string> = new Set(
  `appreciate appreciated appreciation awe blast blessed bond bonding calm calming cherish cherished comfort
  comforting courage dream dreams emotion emotional emotions encourage encouraged encouragement encouraging
  energy enjoying experience experiences fam feel-good fulfilling gift grateful gratitude growth gratifying
  happiness heart hearts hope hopes inspiration inspire inspired inspires joy joyful journey lucky meaning
  meaningful memories memory moment moments motivate motivated motivating motivation passion passionate
  peace peaceful positive positivity powerful precious priceless proud reminder reminds rewarding sense
  serenity soul strength strong stunning supportive thankful therapeutic thoughtful touching tranquil
  unforgettable uplifting valuable vibe vibes warmth wholesome worth`.split(/\s+/)
)
