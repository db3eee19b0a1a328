/**
 * The words synthetic data is made of. Lists are passed to the generator's SQL as arrays and
 * indexed there by pseudo-random numbers, so their order is part of what a seed produces:
 * append to them, never reorder, or the same seed stops giving the same rows.
 */

export const brandNames = [
  'Lucky Star',
  'Golden Reel',
  'Northbet',
  'Bright Harbor',
  'Velvet Spin',
  'Summit Sports',
  'Blue Fox',
  'Red Lantern',
  'Crown Jackpot',
  'Silver Arrow',
  'Emerald Isle',
  'Nova Play',
  'Orbit Odds',
  'Pine Valley',
  'Quartz Casino',
  'Royal Oak',
  'Sunset Slots',
  'Tidewater',
  'Urban Kicks',
  'Wild Meadow',
];

export const programKinds = ['Welcome CPA', 'Revenue Share', 'Hybrid', 'Sports CPA', 'VIP'];

export const trafficSources: Array<{ name: string; domain: string }> = [
  { name: 'Google Ads', domain: 'www.google.com' },
  { name: 'Bing Ads', domain: 'www.bing.com' },
  { name: 'Facebook', domain: 'www.facebook.com' },
  { name: 'Instagram', domain: 'www.instagram.com' },
  { name: 'TikTok', domain: 'www.tiktok.com' },
  { name: 'YouTube', domain: 'www.youtube.com' },
  { name: 'X', domain: 'x.com' },
  { name: 'Reddit', domain: 'www.reddit.com' },
  { name: 'Twitch', domain: 'www.twitch.tv' },
  { name: 'Telegram', domain: 't.me' },
  { name: 'Newsletter', domain: 'mail.example.com' },
  { name: 'Odds Portal', domain: 'www.oddsportal.example' },
  { name: 'Casino Guide', domain: 'casinoguide.example' },
  { name: 'Slot Reviews', domain: 'slotreviews.example' },
  { name: 'Bonus Finder', domain: 'bonusfinder.example' },
  { name: 'Sports Blog', domain: 'sportsblog.example' },
  { name: 'Poker News', domain: 'pokernews.example' },
  { name: 'Tipster Hub', domain: 'tipsterhub.example' },
  { name: 'Comparison Site', domain: 'compare.example' },
  { name: 'Push Network', domain: 'push.example' },
  { name: 'Native Ads', domain: 'native.example' },
  { name: 'Pop Network', domain: 'pop.example' },
  { name: 'SEO Landing', domain: 'landing.example' },
  { name: 'Forum', domain: 'forum.example' },
  { name: 'Podcast', domain: 'podcast.example' },
  { name: 'Streamer A', domain: 'streamer-a.example' },
  { name: 'Streamer B', domain: 'streamer-b.example' },
  { name: 'Mobile App', domain: 'app.example' },
  { name: 'SMS', domain: 'sms.example' },
  { name: 'Direct', domain: 'direct.example' },
];

export const accountPeople = [
  ['Anna', 'Berg'],
  ['Ben', 'Carter'],
  ['Chloe', 'Dubois'],
  ['David', 'Evans'],
  ['Elif', 'Yilmaz'],
  ['Felix', 'Gruber'],
  ['Grace', 'Huang'],
  ['Hugo', 'Ivanov'],
  ['Ines', 'Jansen'],
  ['Jonas', 'Keller'],
];

/** Device, OS and user agent of a visitor, with how often such visitors come (weight). */
const visitorProfiles = [
  {
    weight: 38,
    device: 'mobile',
    os: 'Android',
    userAgent:
      'Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'Chrome/124.0.0.0 Mobile Safari/537.36',
  },
  {
    weight: 22,
    device: 'mobile',
    os: 'iOS',
    userAgent:
      'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 ' +
      '(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1',
  },
  {
    weight: 22,
    device: 'desktop',
    os: 'Windows',
    userAgent:
      'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'Chrome/124.0.0.0 Safari/537.36',
  },
  {
    weight: 8,
    device: 'desktop',
    os: 'macOS',
    userAgent:
      'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
      'Version/17.4 Safari/605.1.15',
  },
  {
    weight: 2,
    device: 'desktop',
    os: 'Linux',
    userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0',
  },
  {
    weight: 6,
    device: 'tablet',
    os: 'iPadOS',
    userAgent:
      'Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) ' +
      'Version/17.4 Mobile/15E148 Safari/604.1',
  },
  {
    weight: 2,
    device: 'tablet',
    os: 'Android',
    userAgent:
      'Mozilla/5.0 (Linux; Android 13; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) ' +
      'Chrome/124.0.0.0 Safari/537.36',
  },
];

/** One entry per weight unit, so that a uniform pick among them follows the weights. */
export const weightedProfiles = visitorProfiles.flatMap((profile) =>
  Array.from({ length: profile.weight }, () => profile),
);

/** Pages of the affiliate's site, the more common ones repeated. */
export const sitePaths = [
  '/',
  '/',
  '/',
  '/',
  '/offers',
  '/offers',
  '/offers',
  '/bonus',
  '/bonus',
  '/reviews',
  '/reviews/top-10',
  '/sports/football',
  '/sports/tennis',
  '/casino/slots',
  '/casino/live',
  '/blog',
  '/blog/how-wagering-works',
  '/blog/responsible-gaming',
  '/contact',
  '/about',
  '/assets/app.js',
  '/assets/app.css',
  '/favicon.ico',
  '/robots.txt',
];
