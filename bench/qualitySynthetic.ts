/**
 * A seeded generator of long user/assistant conversations with planted facts, for the quality
 * benchmark. Each fact has a kind (names, dates and times, numbers and amounts, objects,
 * frequencies, places, preferences, instructions, paths and ids), a sentence that states it
 * inside an ordinary message, a question and its exact answer. Around the facts: small talk,
 * platitudes full of words like "always", "important" or "decided" (the trap the issue saw
 * level 3 fall into), and decoy specifics nobody asks about.
 *
 * The same seed always gives the same conversation. Some seeds are for tuning level 3, others
 * for reporting (see `TUNING_SEEDS` and `EVALUATION_SEEDS`): a benchmark's tuning data is not its
 * evaluation data.
 */
import type { Conversation, Probe, Turn } from "./qualityData.js"

/** The conversations level 3 may be tuned on (`npm run bench -- quality --tune`). */
export const TUNING_SEEDS: ReadonlyArray<number> = [1, 2, 3]
/** The conversations the benchmark reports on; never looked at while tuning. */
export const EVALUATION_SEEDS: ReadonlyArray<number> = [11, 12, 13, 14, 15]

export const FACT_KINDS = [
  "names",
  "dates and times",
  "numbers and amounts",
  "objects",
  "frequencies",
  "places",
  "preferences",
  "instructions",
  "paths and ids"
] as const
export type FactKind = typeof FACT_KINDS[number]

/** mulberry32: small, fast and good enough to shuffle templates. */
const prng = (seed: number) => {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Rng = () => number

const int = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1))
const pick = <A>(rng: Rng, items: ReadonlyArray<A>): A => items[Math.floor(rng() * items.length)]!
const shuffle = <A>(rng: Rng, items: ReadonlyArray<A>): Array<A> => {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

/** Draws values without repeats within one conversation, so every question has one answer. */
class Pool {
  private readonly used = new Set<string>()
  constructor(private readonly rng: Rng) {}
  from(items: ReadonlyArray<string>): string {
    const fresh = items.filter((item) => !this.used.has(item))
    const value = pick(this.rng, fresh.length > 0 ? fresh : items)
    this.used.add(value)
    return value
  }
  make(build: (rng: Rng) => string): string {
    for (;;) {
      const value = build(this.rng)
      if (this.used.has(value)) continue
      this.used.add(value)
      return value
    }
  }
}

const NAMES = [
  "Beatrice",
  "Tobias",
  "Marguerite",
  "Oskar",
  "Priyanka",
  "Lorenzo",
  "Henrietta",
  "Casimir",
  "Yolanda",
  "Fergus",
  "Ingrid",
  "Dashiell",
  "Rosalind",
  "Emeka",
  "Saoirse",
  "Thaddeus",
  "Anouk",
  "Leopold",
  "Marisol",
  "Gideon",
  "Wilhelmina",
  "Ravi",
  "Clementine",
  "Bartholomew",
  "Noor",
  "Evander",
  "Philippa",
  "Kenji",
  "Ottilie",
  "Mateus"
]
const CITIES = [
  "Porto",
  "Ljubljana",
  "Valencia",
  "Bergen",
  "Tallinn",
  "Bologna",
  "Galway",
  "Krakow",
  "Lyon",
  "Antwerp",
  "Seville",
  "Aarhus",
  "Salzburg",
  "Inverness",
  "Trieste",
  "Gdansk",
  "Nantes",
  "Utrecht",
  "Coimbra",
  "Bruges"
]
const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December"
]
const OBJECTS = [
  "red kite",
  "cast-iron skillet",
  "film camera",
  "standing desk",
  "pasta maker",
  "brass telescope",
  "ukulele",
  "green scarf",
  "sewing machine",
  "blue umbrella",
  "chess set",
  "record player",
  "bonsai tree",
  "espresso grinder",
  "wooden rocking horse",
  "hammock"
]
const FREQUENCIES = [
  "twice a week",
  "three times a week",
  "four times a week",
  "once a month",
  "every other day",
  "every second Tuesday",
  "every fortnight",
  "every Sunday evening",
  "once a quarter",
  "twice a month",
  "every weekday morning",
  "three times a month"
]
const DRINKS = ["oat flat whites", "rooibos tea", "cold brew", "chai lattes", "sparkling water with lime"]
const DISHES = ["mushroom risotto", "lamb tagine", "aubergine parmigiana", "Thai green curry", "paella"]
const BANDS = ["The Velvet Orchards", "Nightjar Parade", "Copper Lanterns", "The Hollow Pines"]
const SEATS = ["an aisle seat", "a window seat", "the exit row"]
const AUTHORS = ["Ursula Le Guin", "Kazuo Ishiguro", "Toni Morrison", "Italo Calvino"]
const HOLIDAYS = [
  "hiking in the mountains",
  "cycling along rivers",
  "sailing around islands",
  "camping by lakes"
]
const CAKES = ["lemon drizzle cake", "carrot cake", "black forest gateau", "coffee and walnut cake"]
const COLOURS = ["sage green", "terracotta", "duck-egg blue", "mustard yellow"]
const SHOPS = ["FreshFields", "the Co-op on Mill Lane", "GreenBasket", "Harvest Market"]
const DATE_FORMATS = ["ISO", "day-month-year", "month-day-year"]

const date = (rng: Rng) => `${int(rng, 1, 28)} ${pick(rng, MONTHS)}`
const time = (rng: Rng) =>
  `${int(rng, 7, 11)}:${pick(rng, ["00", "15", "30", "45"])} ${pick(rng, ["am", "pm"])}`
const letters = (rng: Rng, n: number) =>
  Array.from({ length: n }, () => String.fromCharCode(65 + int(rng, 0, 25))).join("")
const digits = (rng: Rng, n: number) => Array.from({ length: n }, () => String(int(rng, 0, 9))).join("")
const money = (rng: Rng, symbol: string, min: number, max: number) =>
  `${symbol}${(int(rng, min, max) * 10).toLocaleString("en")}`

interface Template {
  readonly kind: FactKind
  /** Who says it (the user by default). */
  readonly by?: "assistant"
  readonly make: (
    pool: Pool
  ) => { readonly statement: string; readonly question: string; readonly answer: string }
}

const fact = (statement: string, question: string, answer: string) => ({ statement, question, answer })

const TEMPLATES: ReadonlyArray<Template> = [
  // names
  {
    kind: "names",
    make: (p) => {
      const n = p.from(NAMES)
      return fact(
        `My sister's new boyfriend is called ${n}, and honestly he seems lovely.`,
        "What is the name of the user's sister's boyfriend?",
        n
      )
    }
  },
  {
    kind: "names",
    make: (p) => {
      const n = p.from(NAMES)
      return fact(
        `Our new neighbour introduced herself yesterday, her name is ${n}.`,
        "What is the name of the user's new neighbour?",
        n
      )
    }
  },
  {
    kind: "names",
    make: (p) => {
      const n = p.from(NAMES)
      return fact(
        `The vet we saw today was Dr ${n}, she was very patient with the dog.`,
        "What was the name of the vet the user saw?",
        n
      )
    }
  },
  {
    kind: "names",
    make: (p) => {
      const n = p.from(NAMES)
      return fact(
        `My manager's name is ${n}, in case it comes up in emails.`,
        "What is the name of the user's manager?",
        n
      )
    }
  },
  {
    kind: "names",
    make: (p) => {
      const n = p.from(NAMES)
      return fact(`We named the kitten ${n} in the end.`, "What did the user name the kitten?", n)
    }
  },
  {
    kind: "names",
    make: (p) => {
      const n = p.from(NAMES)
      return fact(
        `My cousin ${n} is getting married next summer.`,
        "Which of the user's cousins is getting married?",
        n
      )
    }
  },
  {
    kind: "names",
    make: (p) => {
      const n = p.from(NAMES)
      return fact(
        `The plumber who fixed the boiler was ${n}, I'd call him again.`,
        "Who fixed the user's boiler?",
        n
      )
    }
  },
  {
    kind: "names",
    make: (p) => {
      const n = p.from(NAMES)
      return fact(
        `My new running partner is ${n}, we met at the park.`,
        "What is the name of the user's running partner?",
        n
      )
    }
  },
  // dates and times
  {
    kind: "dates and times",
    make: (p) => {
      const d = p.make((r) => `${date(r)} at ${time(r)}`)
      return fact(`The dentist appointment is on ${d}.`, "When is the user's dentist appointment?", d)
    }
  },
  {
    kind: "dates and times",
    make: (p) => {
      const d = p.make((r) => `${date(r)} at ${time(r)}`)
      return fact(
        `My flight leaves on ${d}, so I'll need a taxi early.`,
        "When does the user's flight leave?",
        d
      )
    }
  },
  {
    kind: "dates and times",
    make: (p) => {
      const d = p.make(date)
      return fact(`The parents' evening at school is on ${d}.`, "When is the parents' evening at school?", d)
    }
  },
  {
    kind: "dates and times",
    make: (p) => {
      const d = p.make(date)
      return fact(
        `Our anniversary is ${d}, please don't let me forget.`,
        "When is the user's anniversary?",
        d
      )
    }
  },
  {
    kind: "dates and times",
    make: (p) => {
      const d = p.make(date)
      return fact(`The car's MOT is due on ${d}.`, "When is the user's car MOT due?", d)
    }
  },
  {
    kind: "dates and times",
    make: (p) => {
      const t = p.make(time)
      return fact(
        `The yoga class moved to ${t} on Thursdays.`,
        "What time is the Thursday yoga class now?",
        t
      )
    }
  },
  {
    kind: "dates and times",
    make: (p) => {
      const d = p.make(date)
      return fact(`The lease on the flat ends on ${d}.`, "When does the user's lease end?", d)
    }
  },
  {
    kind: "dates and times",
    make: (p) => {
      const d = p.make((r) => `${date(r)} at ${time(r)}`)
      return fact(`The book club meets next on ${d}.`, "When does the book club meet next?", d)
    }
  },
  // numbers and amounts
  {
    kind: "numbers and amounts",
    make: (p) => {
      const v = p.make((r) => money(r, "€", 60, 240))
      return fact(
        `The deposit for the new flat was ${v}.`,
        "How much was the deposit for the user's new flat?",
        v
      )
    }
  },
  {
    kind: "numbers and amounts",
    make: (p) => {
      const v = p.make((r) => money(r, "£", 150, 900))
      return fact(
        `The quote for fixing the roof came in at ${v}.`,
        "How much was the quote for fixing the roof?",
        v
      )
    }
  },
  {
    kind: "numbers and amounts",
    make: (p) => {
      const v = p.make((r) => money(r, "$", 20, 400))
      return fact(
        `I've saved ${v} so far towards the trip.`,
        "How much has the user saved towards the trip?",
        v
      )
    }
  },
  {
    kind: "numbers and amounts",
    make: (p) => {
      const v = p.make((r) => `${int(r, 61, 189)} pupils`)
      return fact(
        `My daughter's school has ${v} in her year.`,
        "How many pupils are in the user's daughter's year?",
        v
      )
    }
  },
  {
    kind: "numbers and amounts",
    make: (p) => {
      const v = p.make((r) => `${int(r, 8, 14)}.${int(r, 1, 9)} kilograms`)
      return fact(
        `The new bike weighs ${v}, which is light for a tourer.`,
        "How much does the user's new bike weigh?",
        v
      )
    }
  },
  {
    kind: "numbers and amounts",
    make: (p) => {
      const v = p.make((r) => money(r, "£", 90, 190))
      return fact(`Our monthly rent is going up to ${v}.`, "What is the user's new monthly rent?", v)
    }
  },
  {
    kind: "numbers and amounts",
    make: (p) => {
      const v = p.make((r) => `${int(r, 12, 42)} kilometres`)
      return fact(`I ran ${v} on Sunday, a personal best.`, "How far did the user run on Sunday?", v)
    }
  },
  {
    kind: "numbers and amounts",
    make: (p) => {
      const v = p.make((r) => `${int(r, 40, 260)} square metres`)
      return fact(`The garden is about ${v}.`, "How big is the user's garden?", v)
    }
  },
  // objects
  {
    kind: "objects",
    make: (p) => {
      const o = p.from(OBJECTS)
      return fact(
        `I bought my nephew a ${o} for his birthday.`,
        "What did the user buy their nephew for his birthday?",
        o
      )
    }
  },
  {
    kind: "objects",
    make: (p) => {
      const o = p.from(OBJECTS)
      return fact(
        `I finally found a ${o} at the flea market!`,
        "What did the user find at the flea market?",
        o
      )
    }
  },
  {
    kind: "objects",
    make: (p) => {
      const o = p.from(OBJECTS)
      return fact(`My grandmother left me her old ${o}.`, "What did the user's grandmother leave them?", o)
    }
  },
  {
    kind: "objects",
    make: (p) => {
      const o = p.from(OBJECTS)
      return fact(`I lost my ${o} on the train again.`, "What did the user lose on the train?", o)
    }
  },
  {
    kind: "objects",
    make: (p) => {
      const o = p.from(OBJECTS)
      return fact(`For the office I ordered a ${o}.`, "What did the user order for the office?", o)
    }
  },
  {
    kind: "objects",
    make: (p) => {
      const o = p.from(OBJECTS)
      return fact(
        `My partner surprised me with a ${o} last night.`,
        "What did the user's partner surprise them with?",
        o
      )
    }
  },
  {
    kind: "objects",
    make: (p) => {
      const o = p.from(OBJECTS)
      return fact(`We won a ${o} in the school raffle.`, "What did the user win in the school raffle?", o)
    }
  },
  // frequencies
  {
    kind: "frequencies",
    make: (p) => {
      const f = p.from(FREQUENCIES)
      return fact(`I go swimming ${f} now.`, "How often does the user go swimming?", f)
    }
  },
  {
    kind: "frequencies",
    make: (p) => {
      const f = p.from(FREQUENCIES)
      return fact(`My mum calls me ${f}, like clockwork.`, "How often does the user's mum call?", f)
    }
  },
  {
    kind: "frequencies",
    make: (p) => {
      const f = p.from(FREQUENCIES)
      return fact(`I water the tomatoes ${f}.`, "How often does the user water the tomatoes?", f)
    }
  },
  {
    kind: "frequencies",
    make: (p) => {
      const f = p.from(FREQUENCIES)
      return fact(`We have a team stand-up ${f}.`, "How often does the user's team have a stand-up?", f)
    }
  },
  {
    kind: "frequencies",
    make: (p) => {
      const f = p.from(FREQUENCIES)
      return fact(
        `I take the dog to the groomer ${f}.`,
        "How often does the user take the dog to the groomer?",
        f
      )
    }
  },
  {
    kind: "frequencies",
    make: (p) => {
      const f = p.from(FREQUENCIES)
      return fact(
        `The bins get collected ${f} on our street.`,
        "How often are the bins collected on the user's street?",
        f
      )
    }
  },
  {
    kind: "frequencies",
    make: (p) => {
      const f = p.from(FREQUENCIES)
      return fact(`I do my Spanish lessons ${f}.`, "How often does the user do Spanish lessons?", f)
    }
  },
  // places
  {
    kind: "places",
    make: (p) => {
      const c = p.from(CITIES)
      return fact(`My parents are moving to ${c} in the spring.`, "Where are the user's parents moving?", c)
    }
  },
  {
    kind: "places",
    make: (p) => {
      const c = p.from(CITIES)
      return fact(
        `We're spending the summer holiday in ${c}.`,
        "Where is the user spending the summer holiday?",
        c
      )
    }
  },
  {
    kind: "places",
    make: (p) => {
      const c = p.from(CITIES)
      return fact(`My brother just got a job in ${c}.`, "Where did the user's brother get a job?", c)
    }
  },
  {
    kind: "places",
    make: (p) => {
      const c = p.from(CITIES)
      return fact(`I grew up in ${c}, by the way.`, "Where did the user grow up?", c)
    }
  },
  {
    kind: "places",
    make: (p) => {
      const c = p.from(CITIES)
      return fact(`The conference this year is in ${c}.`, "Where is the conference this year?", c)
    }
  },
  {
    kind: "places",
    make: (p) => {
      const c = p.from(CITIES)
      return fact(`My best friend lives in ${c} now.`, "Where does the user's best friend live?", c)
    }
  },
  {
    kind: "places",
    make: (p) => {
      const c = p.from(CITIES)
      return fact(`The wedding venue is just outside ${c}.`, "Where is the wedding venue?", c)
    }
  },
  // preferences
  {
    kind: "preferences",
    make: (p) => {
      const v = p.from(DRINKS)
      return fact(
        `I much prefer ${v} to anything else in the morning.`,
        "What does the user prefer to drink in the morning?",
        v
      )
    }
  },
  {
    kind: "preferences",
    make: (p) => {
      const v = p.from(DISHES)
      return fact(
        `For dinner parties I like to cook ${v}.`,
        "What does the user like to cook for dinner parties?",
        v
      )
    }
  },
  {
    kind: "preferences",
    make: (p) => {
      const v = p.from(BANDS)
      return fact(
        `My favourite band at the moment is ${v}.`,
        "What is the user's favourite band at the moment?",
        v
      )
    }
  },
  {
    kind: "preferences",
    make: (p) => {
      const v = p.from(SEATS)
      return fact(`I always pick ${v} when I fly.`, "What seat does the user pick when flying?", v)
    }
  },
  {
    kind: "preferences",
    make: (p) => {
      const v = p.from(AUTHORS)
      return fact(`My favourite author is ${v}.`, "Who is the user's favourite author?", v)
    }
  },
  {
    kind: "preferences",
    make: (p) => {
      const v = p.from(HOLIDAYS)
      return fact(
        `On holiday I'd rather go ${v} than lie on a beach.`,
        "What does the user prefer doing on holiday?",
        v
      )
    }
  },
  {
    kind: "preferences",
    make: (p) => {
      const v = p.from(CAKES)
      return fact(`For birthdays I'd love a ${v}.`, "What cake does the user like for birthdays?", v)
    }
  },
  {
    kind: "preferences",
    make: (p) => {
      const v = p.from(COLOURS)
      return fact(
        `My favourite colour for the kitchen would be ${v}.`,
        "What colour would the user like for the kitchen?",
        v
      )
    }
  },
  // instructions
  {
    kind: "instructions",
    make: (p) => {
      const v = p.make((r) => `${pick(r, NAMES)} ${letters(r, 1)}.`)
      return fact(
        `When you draft emails for me, sign them as ${v}`,
        "How should the assistant sign the user's emails?",
        v.slice(0, -1)
      )
    }
  },
  {
    kind: "instructions",
    make: (p) => {
      const v = p.make(time)
      return fact(
        `Never book meetings for me before ${v}.`,
        "Before what time must the assistant never book meetings?",
        v
      )
    }
  },
  {
    kind: "instructions",
    make: (p) => {
      const v = p.from(DATE_FORMATS)
      return fact(
        `Please write dates in ${v} format for me from now on.`,
        "In what format should the assistant write dates?",
        v
      )
    }
  },
  {
    kind: "instructions",
    make: (p) => {
      const v = p.make((r) =>
        `${pick(r, NAMES).toLowerCase()}.${letters(r, 2).toLowerCase()}@postbox.example`
      )
      return fact(
        `Send reminders to ${v} rather than my work address.`,
        "Where should the assistant send reminders?",
        v
      )
    }
  },
  {
    kind: "instructions",
    make: (p) => {
      const v = p.make((r) => `${int(r, 6, 30) * 10} words`)
      return fact(
        `Keep any summary you write for me under ${v}.`,
        "How long may the assistant's summaries be at most?",
        v
      )
    }
  },
  {
    kind: "instructions",
    make: (p) => {
      const v = p.from(NAMES)
      return fact(
        `Don't ever share my calendar with ${v}.`,
        "Who must the assistant never share the user's calendar with?",
        v
      )
    }
  },
  {
    kind: "instructions",
    make: (p) => {
      const v = p.from(SHOPS)
      return fact(
        `When you order groceries, use ${v} only.`,
        "Which shop should the assistant use for groceries?",
        v
      )
    }
  },
  // paths and ids
  {
    kind: "paths and ids",
    make: (p) => {
      const v = p.make((r) =>
        `~/Documents/tax/${int(r, 2019, 2024)}/returns-${letters(r, 2).toLowerCase()}.pdf`
      )
      return fact(`The tax documents are in ${v} if you need them.`, "Where are the user's tax documents?", v)
    }
  },
  {
    kind: "paths and ids",
    by: "assistant",
    make: (p) => {
      const v = p.make((r) => `${letters(r, 2)}${digits(r, 1)}${letters(r, 3)}`)
      return fact(
        `Done, the table is booked: your booking reference is ${v}.`,
        "What is the user's booking reference?",
        v
      )
    }
  },
  {
    kind: "paths and ids",
    make: (p) => {
      const v = p.make((r) => `POL-${digits(r, 5)}-${digits(r, 2)}`)
      return fact(`The insurance policy number is ${v}.`, "What is the user's insurance policy number?", v)
    }
  },
  {
    kind: "paths and ids",
    by: "assistant",
    make: (p) => {
      const v = p.make((r) =>
        `/mnt/photos/${int(r, 2015, 2024)}/${pick(r, ["wedding", "garden-party", "christening"])}`
      )
      return fact(`I've moved the photos into ${v} for you.`, "Where did the assistant move the photos?", v)
    }
  },
  {
    kind: "paths and ids",
    make: (p) => {
      const v = p.make((r) => `FIX-${digits(r, 4)}`)
      return fact(`The ticket for the broken heating is ${v}.`, "Which ticket tracks the broken heating?", v)
    }
  },
  {
    kind: "paths and ids",
    make: (p) => {
      const v = p.make((r) => `https://sheets.example.com/d/budget-${digits(r, 4)}`)
      return fact(`The budget spreadsheet lives at ${v} now.`, "Where is the budget spreadsheet?", v)
    }
  },
  {
    kind: "paths and ids",
    make: (p) => {
      const v = p.make((r) => `wifi-${pick(r, ["sunflower", "kettle", "harbour", "meadow"])}-${digits(r, 3)}`)
      return fact(`The guest wifi password is ${v}.`, "What is the guest wifi password?", v)
    }
  }
]

const USER_FILLER = [
  "Hey! How are you doing today?",
  "It's been such a long week, honestly.",
  "Family is super important to me, you know.",
  "I always feel better after a good night's sleep.",
  "I think I need to take better care of myself.",
  "Work has been pretty hectic lately but I'm managing.",
  "I decided to just relax this weekend and not do much.",
  "You should never underestimate a good cup of tea.",
  "Thanks, that really helps.",
  "Haha, yes, exactly.",
  "I'm trying to stay positive about everything.",
  "Make sure you enjoy the little things, right?",
  "The weather has been all over the place this week.",
  "I've been thinking a lot about what really matters.",
  "Honestly, I just want things to calm down a bit.",
  "It was a really good day overall.",
  "I'm not sure what I'd do without my friends.",
  "Sometimes you just have to go with the flow.",
  "We should always make time for the people we love.",
  "That's a really good point, I hadn't thought of it that way.",
  "I'm so tired but it's a good kind of tired.",
  "It's important to me that everyone feels included.",
  "I need to remember to slow down sometimes.",
  "Anyway, enough about me. What's new?",
  "Yeah, I know what you mean.",
  "I'm looking forward to the weekend, to be honest.",
  "Everything feels a bit overwhelming at the moment.",
  "It's funny how things work out sometimes.",
  "I've decided to be kinder to myself this year.",
  "My plan is to take it one day at a time.",
  "Please don't worry, I'm doing fine.",
  "That made me smile, thank you."
]

const ASSISTANT_FILLER = [
  "That sounds lovely!",
  "It's important to make time for the things you enjoy.",
  "I'm glad to hear that.",
  "Remember to be kind to yourself when things get busy.",
  "That makes a lot of sense.",
  "You should always trust your instincts on things like this.",
  "Got it, I'll remember that.",
  "How did that make you feel?",
  "It sounds like you've had a lot going on.",
  "Taking small breaks can really help.",
  "I'm here whenever you want to talk things through.",
  "That's a great attitude to have.",
  "It's completely normal to feel that way.",
  "Make sure you get some rest too.",
  "What are you most looking forward to?",
  "I think that's a really thoughtful decision.",
  "It's always nice to hear good news.",
  "Never forget how far you've come.",
  "That must have been a relief.",
  "Let me know if there's anything I can do to help.",
  "Sounds like a plan!",
  "I hope the rest of your week goes smoothly.",
  "It's important to celebrate the small wins.",
  "You've clearly put a lot of thought into this."
]

/** Specific-sounding lines nobody asks about: a realistic conversation is full of them. */
const DECOYS: ReadonlyArray<(rng: Rng) => string> = [
  (r) => `I watched ${int(r, 2, 6)} episodes of that baking show last night.`,
  (r) => `The train was ${int(r, 5, 45)} minutes late again this morning.`,
  (r) => `I read about ${int(r, 10, 90)} pages before bed.`,
  (r) => `We had pizza with ${pick(r, NAMES)} on Friday, as usual.`,
  (r) => `The supermarket had run out of ${pick(r, ["eggs", "oat milk", "basil", "lemons"])} again.`,
  (r) => `I spent ${int(r, 2, 5)} hours sorting out the garage.`,
  (r) => `My phone battery died at ${int(r, 2, 9)} pm, typical.`,
  (r) => `It rained for ${int(r, 2, 6)} days straight.`,
  (r) => `There were about ${int(r, 20, 80)} people at the market.`,
  (r) =>
    `${pick(r, NAMES)} from work recommended a podcast about ${pick(r, ["history", "gardening", "space"])}.`
]

export interface SyntheticOptions {
  readonly seed: number
  /** Sessions in the conversation. */
  readonly sessions: number
  /** Facts planted per kind (at most the kind's number of templates). */
  readonly factsPerKind: number
}

/** A long user/assistant conversation with planted facts, their questions and answers. */
export const generate = (options: SyntheticOptions): Conversation => {
  const rng = prng(options.seed)
  const pool = new Pool(rng)
  const templates = FACT_KINDS.flatMap((kind) =>
    shuffle(rng, TEMPLATES.filter((t) => t.kind === kind)).slice(0, options.factsPerKind)
  )
  // Sessions of 16–24 exchanges, a few days apart.
  const exchanges = Array.from({ length: options.sessions }, () => int(rng, 16, 24))
  const total = exchanges.reduce((a, b) => a + b, 0)
  // Each fact gets its own exchange, spread over the whole conversation.
  const slots = shuffle(rng, Array.from({ length: total }, (_, i) => i)).slice(0, templates.length)
  const order = shuffle(rng, templates)
  const factAt = new Map<number, Template>(slots.map((slot, i) => [slot, order[i]!]))

  const turns: Array<Turn> = []
  const probes: Array<Probe> = []
  let day = int(rng, 0, 60)
  let exchange = 0
  for (let s = 1; s <= options.sessions; s++) {
    day += int(rng, 2, 9)
    const when = new Date(Date.UTC(2024, 0, 1 + day))
    const dateText = `${time(rng)} on ${when.getUTCDate()} ${
      MONTHS[when.getUTCMonth()]
    }, ${when.getUTCFullYear()}`
    let n = 0
    const push = (speaker: "user" | "assistant", text: string) => {
      n++
      const id = `S${s}:${n}`
      turns.push({ id, session: s, date: dateText, speaker, text })
      return id
    }
    for (let e = 0; e < exchanges[s - 1]!; e++, exchange++) {
      const template = factAt.get(exchange)
      const planted = template?.make(pool)
      const lead = rng() < 0.5 ? `${pick(rng, USER_FILLER)} ` : ""
      const trail = rng() < 0.5 ? ` ${pick(rng, USER_FILLER)}` : ""
      const decoy = rng() < 0.25 ? ` ${pick(rng, DECOYS)(rng)}` : ""
      const reply = () => Array.from({ length: int(rng, 1, 3) }, () => pick(rng, ASSISTANT_FILLER)).join(" ")
      if (planted !== undefined && template?.by === "assistant") {
        push("user", `${lead}Could you sort that out for me?${trail}`)
        const id = push("assistant", `${planted.statement} ${reply()}`)
        probes.push({
          question: planted.question,
          answer: planted.answer,
          evidence: [id],
          group: template.kind
        })
        continue
      }
      if (planted !== undefined && template !== undefined) {
        const id = push("user", `${lead}${planted.statement}${trail}`)
        probes.push({
          question: planted.question,
          answer: planted.answer,
          evidence: [id],
          group: template.kind
        })
      } else {
        push("user", `${lead}${pick(rng, USER_FILLER)}${decoy}${trail}`)
      }
      push("assistant", reply())
    }
  }
  return {
    id: `synthetic-${options.seed}`,
    speakers: ["user", "assistant"],
    turns,
    probes,
    namedSpeakers: false
  }
}
